"""Signed URLs: the shared vectors, the signer, the check, and the origin's second check."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from origin_handler.errors import BadRequest, Forbidden, Misconfigured
from origin_handler.origin import signing
from origin_handler.origin.handler import Origin
from origin_handler.origin.request import parse
from origin_handler.policy import POLICY_PATH, Policy, load_policy
from tests.conftest import FIXTURES
from tests.origin.conftest import KEY, event

VECTOR_FILE = json.loads((FIXTURES / "signing_vectors.json").read_text(encoding="utf-8"))
KEYS = VECTOR_FILE["keys"]
EDGE_GROUPS = [
    g for g in json.loads((FIXTURES / "vectors.json").read_text())["policies"] if "kvs" in g
]


def policy_with(mode: str) -> Policy:
    """The shipped policy with another signing mode."""
    return Policy.from_dict({**json.loads(POLICY_PATH.read_text()), "signing": {"mode": mode}})


REQUIRED, OPTIONAL = policy_with("required"), policy_with("optional")


def test_the_shipped_policy_signs_nothing() -> None:
    assert load_policy().signing_mode == "off"
    assert (
        signing.verify_request(parse("/a.jpg", "w=1"), "s=junk&s=again", load_policy(), {}) is None
    )


@pytest.mark.parametrize("vector", VECTOR_FILE["vectors"], ids=lambda v: v["url"])
def test_signer_vectors(vector: dict) -> None:
    key_id = vector["key_id"]
    assert signing.sign_url(vector["url"], key_id, KEYS[key_id]) == vector["signed_url"]
    value = vector["signed_url"].partition("s=")[2].partition("#")[0]
    path, _, query = vector["signed_url"].partition("?")
    path = "/" + path.split("://", 1)[-1].partition("/")[2] if "://" in path else path
    variant = parse(path, query.partition("#")[0])
    assert signing.signed_text(variant) == vector["signed_text"]
    # What one signer makes the other side accepts, under the other key too only if its own.
    assert signing.check(variant, value, REQUIRED, KEYS) == value
    other = "k2" if key_id == "k1" else "k1"
    with pytest.raises(Forbidden, match="bad signature"):
        signing.check(variant, value, REQUIRED, {other: KEYS[other], key_id: KEYS[other]})


def test_edge_groups_cover_signed_tampered_expired_and_optional() -> None:
    modes = {g["patch"]["signing"]["mode"] for g in EDGE_GROUPS}
    assert modes == {"required", "optional"}
    messages = {v["expect"].get("message") for g in EDGE_GROUPS for v in g["vectors"]}
    assert {"missing signature", "bad signature", "unknown signing key"} <= messages
    assert {"malformed signature", "repeated parameter: s"} <= messages
    forwarded = [v for g in EDGE_GROUPS for v in g["vectors"] if "signature" in v["expect"]]
    assert len(forwarded) >= 10
    for group in EDGE_GROUPS:
        assert set(group["kvs"]) == {f"{signing.KVS_PREFIX}{k}" for k in KEYS}


def test_signed_text_names_a_negotiated_format_auto() -> None:
    avif = parse("/p/cat.jpg", "w=600", "image/avif")
    webp = parse("/p/cat.jpg", "w=600", "image/webp")
    assert avif.canonical_uri != webp.canonical_uri
    assert signing.signed_text(avif) == signing.signed_text(webp) == "/p/cat.jpg/w=640,q=75,f=auto"
    assert signing.signed_text(parse("/p/cat.jpg", "format=webp")) == "/p/cat.jpg/q=75,f=webp"
    assert signing.signed_text(parse("/p/cat.jpg", "info")) == "/p/cat.jpg/f=info"


def test_sign_url_replaces_an_old_s_and_keeps_the_rest() -> None:
    url = signing.sign_url("/a.jpg?utm=1&s=k0.old&w=640", "k1", KEYS["k1"])
    assert url.startswith("/a.jpg?utm=1&w=640&s=k1.")
    assert url.count("s=") == 1


def test_sign_url_reads_scheme_host_and_fragment_only_where_they_are() -> None:
    redirect = signing.sign_url("/a.jpg?w=640&next=https://x.example/b", "k1", KEYS["k1"])
    assert redirect.startswith("/a.jpg?w=640&next=https://x.example/b&s=k1.")
    anchored = signing.sign_url("/a.jpg#top", "k1", KEYS["k1"])
    assert anchored.startswith("/a.jpg?s=k1.") and anchored.endswith("#top")
    assert signing.sign_url("HTTPS://cdn.example/a.jpg", "k1", KEYS["k1"]).startswith(
        "HTTPS://cdn.example/a.jpg?s=k1."
    )


def test_sign_url_refuses_what_the_edge_would() -> None:
    with pytest.raises(BadRequest, match="invalid w"):
        signing.sign_url("/a.jpg?w=0", "k1", KEYS["k1"])
    with pytest.raises(ValueError, match="key id"):
        signing.sign_url("/a.jpg?w=1", "bad id!", KEYS["k1"])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing signature"),
        ("", "malformed signature"),
        ("k1", "malformed signature"),
        ("k1." + "A" * 42, "malformed signature"),
        ("k1." + "A" * 43 + "\n", "malformed signature"),
        ("k9." + "A" * 43, "unknown signing key"),
        ("k1." + "A" * 43, "bad signature"),
    ],
)
def test_required_refusals(value: str | None, message: str) -> None:
    with pytest.raises(Forbidden, match=f"^{message}$") as caught:
        signing.check(parse("/a.jpg", "w=640"), value, REQUIRED, KEYS)
    assert caught.value.status == 403


def test_optional_checks_only_what_is_there() -> None:
    variant = parse("/a.jpg", "w=640")
    assert signing.check(variant, None, OPTIONAL, KEYS) is None
    with pytest.raises(Forbidden, match="bad signature"):
        signing.check(variant, "k1." + "A" * 43, OPTIONAL, KEYS)


def test_a_policy_that_signs_needs_keys() -> None:
    with pytest.raises(Misconfigured, match="signing is required but no signing keys"):
        signing.verify_request(parse("/a.jpg", "w=1"), "", REQUIRED, {})


def test_the_parameter_is_decoded_strictly() -> None:
    assert signing.parameter("w=1&s=k1%2Eabc") == "k1.abc"
    assert signing.parameter("w=1") is None
    with pytest.raises(BadRequest, match="repeated parameter: s"):
        signing.parameter("s=a&s=b")
    with pytest.raises(BadRequest, match="invalid s: bad percent-encoding"):
        signing.parameter("s=%ZZ")


def test_new_secrets_are_long_and_distinct() -> None:
    a, b = signing.new_secret(), signing.new_secret()
    assert a != b and len(a) == 43


def test_policy_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match=r"signing\.mode must be one of off, optional, required"):
        policy_with("sometimes")


# The origin checks again: an edge deployed without the check must not let renders through.


def signed_event(path: str, query: str) -> dict:
    e = event(path, "image/webp")
    e["rawQueryString"] = query
    return e


def test_origin_refuses_unsigned_and_renders_signed(in_process: Origin) -> None:
    origin = replace(
        in_process,
        policy=REQUIRED,
        settings=replace(in_process.settings, signing_keys=tuple(KEYS.items())),
    )
    uri = f"/{KEY}/w=256,q=75,f=auto-webp"
    unsigned = origin.handle(signed_event(uri, ""))
    assert unsigned["statusCode"] == 403
    assert unsigned["body"] == "403 missing signature\n"
    assert unsigned["headers"]["Cache-Control"] == "private, no-store"

    value = signing.signature(parse(uri), "k2", KEYS["k2"])
    ok = origin.handle(signed_event(uri, f"s={value}"))
    assert ok["statusCode"] == 200 and ok["headers"]["Content-Type"] == "image/webp"

    tampered = origin.handle(signed_event(f"/{KEY}/w=384,q=75,f=auto-webp", f"s={value}"))
    assert (tampered["statusCode"], tampered["body"]) == (403, "403 bad signature\n")


def test_origin_with_signing_but_no_keys_is_a_500_not_an_open_door(in_process: Origin) -> None:
    origin = replace(in_process, policy=REQUIRED)
    answer = origin.handle(signed_event(f"/{KEY}/w=256,q=75,f=auto-webp", ""))
    assert answer["statusCode"] == 500
    assert answer["body"] == "500 signing is required but no signing keys are set\n"


def test_a_redirect_keeps_the_verified_signature(in_process: Origin) -> None:
    # Too big for a function-URL answer: the Location is fetched through the edge again,
    # which (signing required) needs the s there too.
    origin = replace(
        in_process,
        policy=REQUIRED,
        settings=replace(
            in_process.settings, signing_keys=tuple(KEYS.items()), max_response_bytes=20_000
        ),
    )
    uri = f"/{KEY}/w=1080,q=90,f=png"
    value = signing.signature(parse(uri), "k1", KEYS["k1"])
    answer = origin.handle(signed_event(uri, f"s={value}"))
    assert answer["statusCode"] == 302
    assert answer["headers"]["Location"] == f"{uri}?s={value}"
    followed = parse(uri, f"s={value}", None, REQUIRED)
    assert signing.verify_request(followed, f"s={value}", REQUIRED, KEYS) == value
