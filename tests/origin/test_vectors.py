"""The shared parity vectors through the Python normalizer (the edge runs the same file)."""

from __future__ import annotations

import itertools
import json

import pytest

from origin_handler.errors import BadRequest, Forbidden
from origin_handler.origin.request import parse
from origin_handler.origin.signing import KVS_PREFIX, verify_request
from origin_handler.policy import ORIGINAL_FAMILY, POLICY_PATH, Policy, load_policy
from origin_handler.variants import AUTO_PREFIX, variant_space
from tests.conftest import FIXTURES

VECTORS_PATH = FIXTURES / "vectors.json"
VECTOR_FILE = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
VECTORS = VECTOR_FILE["vectors"]
# Groups run against the shipped policy with a patch applied (ties, a width-only site).
POLICY_GROUPS = VECTOR_FILE["policies"]
PATCHED = [(g, v) for g in POLICY_GROUPS for v in g["vectors"]]


def patched_policy(group: dict) -> Policy:
    """The shipped policy.json with the group's top-level keys replaced."""
    return Policy.from_dict({**json.loads(POLICY_PATH.read_text()), **group["patch"]})


def store_keys(kvs: dict[str, str]) -> dict[str, str]:
    """A group's KeyValueStore contents as signing keys (key id -> secret)."""
    assert all(name.startswith(KVS_PREFIX) for name in kvs)
    return {name.removeprefix(KVS_PREFIX): secret for name, secret in kvs.items()}


def outcome(
    path: str,
    query: str | None,
    accept: str | None,
    policy: Policy | None = None,
    kvs: dict[str, str] | None = None,
) -> dict:
    """What the edge answers, in the vectors' ``expect`` shape."""
    policy = policy or load_policy()
    try:
        variant = parse(path, query, accept, policy)
        forwarded = verify_request(variant, query, policy, store_keys(kvs or {}))
    except (BadRequest, Forbidden) as exc:
        return {"status": exc.status, "message": exc.message}
    if forwarded is None:
        return {"uri": variant.canonical_uri}
    return {"uri": variant.canonical_uri, "signature": forwarded}


def test_vector_file_is_big_and_names_are_unique() -> None:
    assert len(VECTORS) >= 80
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)
    for v in VECTORS:
        assert set(v) == {"name", "path", "query", "accept", "expect"}, v["name"]
        assert set(v["expect"]) in ({"uri"}, {"status", "message"}), v["name"]
        assert v["expect"].get("status", 400) == 400, v["name"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict) -> None:
    assert outcome(vector["path"], vector["query"], vector["accept"]) == vector["expect"]


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if "uri" in v["expect"]],
    ids=[v["name"] for v in VECTORS if "uri" in v["expect"]],
)
def test_canonical_output_is_a_fixed_point(vector: dict) -> None:
    uri = vector["expect"]["uri"]
    assert outcome(uri, "w=1&w=2", "image/avif") == {"uri": uri}


@pytest.mark.parametrize(
    ("group", "vector"), PATCHED, ids=[f"{g['name']}: {v['name']}" for g, v in PATCHED]
)
def test_vector_under_a_patched_policy(group: dict, vector: dict) -> None:
    policy = patched_policy(group)
    kvs = group.get("kvs")
    got = outcome(vector["path"], vector["query"], vector["accept"], policy, kvs)
    assert got == vector["expect"]
    if "uri" in got:  # and the canonical output is a fixed point under that policy too
        query = "h=1" if "signature" not in got else f"h=1&s={got['signature']}"
        assert outcome(got["uri"], query, None, policy, kvs) == got


def test_patched_groups_are_well_formed() -> None:
    assert len(PATCHED) >= 15
    names = [v["name"] for _, v in PATCHED]
    assert len(set(names)) == len(names)
    for _, v in PATCHED:
        assert set(v) == {"name", "path", "query", "accept", "expect"}, v["name"]


def test_variant_space_per_original_is_the_documented_size() -> None:
    """The docs quote these counts; every counted ops segment must parse as canonical."""
    policy = load_policy()
    sizes = (
        [(None, None, None)]
        + [(w, None, None) for w in policy.widths]
        + [(None, h, None) for h in policy.heights]
        + [(w, h, fit) for w in policy.widths for h in policy.heights for fit in policy.fits]
    )
    qualities = [
        *policy.qualities,
        *(f"auto-{level}" for level in policy.auto_levels),  # q=auto: one per level
    ]
    formats = [*policy.formats] + [AUTO_PREFIX + f for f in (*policy.negotiated, ORIGINAL_FAMILY)]
    count = 0
    for (w, h, fit), q, f in itertools.product(sizes, qualities, formats):
        parts = [f"w={w}" if w else "", f"h={h}" if h else "", f"fit={fit}" if fit else ""]
        ops = ",".join([p for p in parts if p] + [f"q={q}", f"f={f}"])
        assert parse(f"/k.jpg/{ops}").ops == ops
        count += 1
    assert len(sizes) == 801
    assert len(qualities) == 6  # 50, 75, 90 and three q=auto levels
    assert len(formats) == 7
    assert count == 33_642 == variant_space(policy).count
