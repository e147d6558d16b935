"""Writes the signed-URL fixtures: what the Python, Node and edge implementations agree on.

    python scripts/signing-vectors.py

* tests/fixtures/signing_vectors.json: URL + key id -> signed text and signed URL (the
  Python and Node signers);
* the "signing ..." groups of tests/fixtures/vectors.json: requests against a policy with
  signing required or optional and a KeyValueStore holding two keys (the edge function
  under node and njs, and Python's check).

The tests recompute every expectation with Python, so neither file can drift from it.
"""

from __future__ import annotations

import json
from pathlib import Path

from origin_handler.errors import OriginError
from origin_handler.origin.request import parse
from origin_handler.origin.signing import KVS_PREFIX, sign_url, signed_text, verify_request
from origin_handler.policy import POLICY_PATH, Policy, load_policy

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
OUT = FIXTURES / "signing_vectors.json"
EDGE_VECTORS = FIXTURES / "vectors.json"
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
KEYS = {
    "k1": "Qm9uam91ciBsZSBtb25kZSwgY2VjaSBlc3QgdW4gc2VjcmV0",
    "k2": "c2Vjb25kIGtleSBmb3Igcm90YXRpb24sIG5vdCBhIHJlYWwgc2VjcmV0",
}
URLS = [
    ("k1", "/photos/cat.jpg?w=640&q=75"),
    ("k1", "/photos/cat.jpg?w=600&q=70"),
    ("k2", "/photos/cat.jpg?w=640&q=75"),
    ("k1", "/photos/cat.jpg?w=1200&h=800&fit=contain&format=webp"),
    ("k1", "/photos/cat.jpg?format=JPG&q=90&w=100"),
    ("k1", "/photos/cat.jpg?w=1200&q=auto:high"),
    ("k1", "/photos/cat.jpg?info"),
    ("k1", "/photos/caf%C3%A9%20au%20lait.jpg?w=256"),
    ("k2", "/a/b~c/(1).png?w=48&format=png"),
    ("k1", "https://cdn.example.com/photos/cat.jpg?w=640&utm_source=mail#top"),
    ("k1", "/photos/cat.jpg/w=640,q=75,f=auto-avif"),
    ("k1", "/photos/cat.jpg?w=640&s=k0.stale"),
]


def signed(url: str, key_id: str = "k1") -> str:
    """The query of url once signed (the shipped policy but for its signing mode)."""
    return sign_url(url, key_id, KEYS[key_id]).partition("?")[2]


def s_of(url: str, key_id: str = "k1") -> str:
    """Just the s= value for url."""
    return signed(url, key_id).rpartition("s=")[2]


# (name, path, query, accept) per mode; the expectation is computed.
REQUIRED = [
    ("signed with k1", "/photos/cat.jpg", signed("/photos/cat.jpg?w=640&q=75"), CHROME),
    (
        "signed with k2 (rotation)",
        "/photos/cat.jpg",
        signed("/photos/cat.jpg?w=640&q=75", "k2"),
        CHROME,
    ),
    (
        "one signature, every negotiated format: webp",
        "/photos/cat.jpg",
        signed("/photos/cat.jpg?w=640&q=75"),
        SAFARI,
    ),
    (
        "one signature, every negotiated format: none",
        "/photos/cat.jpg",
        signed("/photos/cat.jpg?w=640&q=75"),
        None,
    ),
    (
        "signed after snapping: w=600 carries the w=640 signature",
        "/photos/cat.jpg",
        "w=600&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "parameter order and case do not matter",
        "/photos/cat.jpg",
        "format=JPG&w=100&s=" + s_of("/photos/cat.jpg?w=128&format=jpeg"),
        None,
    ),
    (
        "explicit format signed",
        "/photos/cat.jpg",
        signed("/photos/cat.jpg?w=1200&format=webp&q=90"),
        CHROME,
    ),
    ("q=auto signed", "/photos/cat.jpg", signed("/photos/cat.jpg?w=1200&q=auto:high"), CHROME),
    ("info signed", "/photos/cat.jpg", signed("/photos/cat.jpg?info"), None),
    (
        "escaped key signed",
        "/photos/caf%C3%A9%20au%20lait.jpg",
        signed("/photos/caf%C3%A9%20au%20lait.jpg?w=256"),
        CHROME,
    ),
    (
        "canonical form signed",
        "/photos/cat.jpg/w=640,q=75,f=auto-webp",
        "s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        None,
    ),
    (
        "s may be percent-encoded",
        "/photos/cat.jpg",
        "w=640&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75").replace(".", "%2E", 1),
        CHROME,
    ),
    (
        "unknown parameters beside s are ignored",
        "/photos/cat.jpg",
        "utm_source=mail&" + signed("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    ("unsigned is a 403", "/photos/cat.jpg", "w=640&q=75", CHROME),
    ("unsigned canonical form is a 403", "/photos/cat.jpg/w=640,q=75,f=auto-webp", None, None),
    (
        "tampered width",
        "/photos/cat.jpg",
        "w=1200&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "tampered quality",
        "/photos/cat.jpg",
        "w=640&q=90&s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "tampered key",
        "/photos/dog.jpg",
        "w=640&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "a negotiated signature does not cover an explicit format",
        "/photos/cat.jpg",
        "w=640&q=75&format=png&s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "a signature for info does not cover an image",
        "/photos/cat.jpg",
        "s=" + s_of("/photos/cat.jpg?info"),
        CHROME,
    ),
    (
        "expired key: k0 is no longer in the store",
        "/photos/cat.jpg",
        "w=640&q=75&s=k0." + s_of("/photos/cat.jpg?w=640&q=75").partition(".")[2],
        CHROME,
    ),
    (
        "k1's mac under k2's id",
        "/photos/cat.jpg",
        "w=640&q=75&s=k2." + s_of("/photos/cat.jpg?w=640&q=75").partition(".")[2],
        CHROME,
    ),
    (
        "malformed: no key id",
        "/photos/cat.jpg",
        "w=640&s=" + s_of("/photos/cat.jpg?w=640").partition(".")[2],
        CHROME,
    ),
    ("malformed: empty s", "/photos/cat.jpg", "w=640&s=", CHROME),
    ("malformed: a bare s", "/photos/cat.jpg", "w=640&s", CHROME),
    (
        "malformed: truncated mac",
        "/photos/cat.jpg",
        "w=640&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75")[:-1],
        CHROME,
    ),
    (
        "malformed: trailing newline",
        "/photos/cat.jpg",
        "w=640&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75") + "%0A",
        CHROME,
    ),
    (
        "repeated s is a 400",
        "/photos/cat.jpg",
        signed("/photos/cat.jpg?w=640&q=75") + "&s=k1.x",
        CHROME,
    ),
    ("bad percent-encoding in s is a 400", "/photos/cat.jpg", "w=640&s=k1%ZZ", CHROME),
    ("a bad URL is a 400 before any signature", "/photos/cat.jpg", "w=0", CHROME),
]
OPTIONAL = [
    ("optional: unsigned passes", "/photos/cat.jpg", "w=640&q=75", CHROME),
    (
        "optional: signed passes and s is forwarded",
        "/photos/cat.jpg",
        signed("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "optional: a bad signature is still a 403",
        "/photos/cat.jpg",
        "w=1200&q=75&s=" + s_of("/photos/cat.jpg?w=640&q=75"),
        CHROME,
    ),
    (
        "optional: unknown key is a 403",
        "/photos/cat.jpg",
        "w=640&q=75&s=k9." + s_of("/photos/cat.jpg?w=640&q=75").partition(".")[2],
        CHROME,
    ),
]


def expectation(policy: Policy, path: str, query: str | None, accept: str | None) -> dict:
    """What the edge answers: the canonical URI (and the s it forwards) or the refusal."""
    try:
        variant = parse(path, query, accept, policy)
        forwarded = verify_request(variant, query, policy, KEYS)
    except OriginError as err:
        return {"status": err.status, "message": err.message}
    out: dict = {"uri": variant.canonical_uri}
    if forwarded is not None:
        out["signature"] = forwarded
    return out


def edge_groups() -> list[dict]:
    """The signing groups of vectors.json."""
    shipped = json.loads(POLICY_PATH.read_text(encoding="utf-8"))
    kvs = {f"{KVS_PREFIX}{key_id}": secret for key_id, secret in KEYS.items()}
    groups = []
    for mode, cases in (("required", REQUIRED), ("optional", OPTIONAL)):
        patch = {"signing": {"mode": mode}}
        policy = Policy.from_dict({**shipped, **patch})
        vectors = [
            {
                "name": name,
                "path": path,
                "query": query,
                "accept": accept,
                "expect": expectation(policy, path, query, accept),
            }
            for name, path, query, accept in cases
        ]
        groups.append(
            {
                "name": f"signing {mode}",
                "about": f"signing.mode {mode}; the store holds k1 and k2 (k0 was rotated out)."
                " Written by scripts/signing-vectors.py.",
                "patch": patch,
                "kvs": kvs,
                "vectors": vectors,
            }
        )
    return groups


def main() -> None:
    """Compute and write every vector."""
    policy = load_policy()
    vectors = []
    for key_id, url in URLS:
        path, _, query = url.split("#")[0].partition("?")
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        kept = "&".join(p for p in query.split("&") if not p.startswith("s="))
        vectors.append(
            {
                "url": url,
                "key_id": key_id,
                "signed_text": signed_text(parse(path, kept, None, policy)),
                "signed_url": sign_url(url, key_id, KEYS[key_id], policy),
            }
        )
    doc = {
        "description": (
            "Signed-URL vectors (docs/signed-urls.md): url + key id -> the text the HMAC covers"
            " and the URL with its s= appended. Written by scripts/signing-vectors.py;"
            " checked by tests/origin/test_signing.py (Python) and site/test/sign.test.mjs."
        ),
        "keys": KEYS,
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(vectors)} vectors -> {OUT}")
    edge = json.loads(EDGE_VECTORS.read_text(encoding="utf-8"))
    groups = edge_groups()
    edge["policies"] = [g for g in edge["policies"] if "kvs" not in g] + groups
    EDGE_VECTORS.write_text(json.dumps(edge, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{sum(len(g['vectors']) for g in groups)} signing vectors -> {EDGE_VECTORS}")


if __name__ == "__main__":
    main()
