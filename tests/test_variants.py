"""The variant naming scheme: the ~XX key escape, derived keys, owners, invalidation paths."""

from __future__ import annotations

import random

import pytest

from origin_handler.errors import BadRequest
from origin_handler.policy import load_policy
from origin_handler.variants import (
    Variant,
    derived_prefix,
    encode_key,
    escape_key,
    exact_path,
    is_variant_of,
    owner_of,
    unescape_key,
    validate_key,
    wildcard_path,
)

# Only what a SigV4 canonical URI keeps as is, plus the separators the scheme itself uses.
CANONICAL_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")


@pytest.mark.parametrize(
    ("key", "escaped"),
    [
        ("photos/cat.jpg", "/photos/cat.jpg"),
        ("photos/red flöwer+1 (2).jpg", "/photos/red~20fl~C3~B6wer~2B1~20~282~29.jpg"),
        ("100%.jpg", "/100~25.jpg"),
        ("~user/a~b.jpg", "/~7Euser/a~7Eb.jpg"),
        ("a~20b.jpg", "/a~7E20b.jpg"),  # looks escaped: the ~ is escaped, so no collision
        ("müller.jpg", "/m~C3~BCller.jpg"),
        ("🐈.png", "/~F0~9F~90~88.png"),
        ("a/(b)!*'.jpg", "/a/~28b~29~21~2A~27.jpg"),
        ("photos/w=640,q=75", "/photos/w~3D640~2Cq~3D75"),
    ],
)
def test_escape_key_has_no_percent_and_round_trips(key: str, escaped: str) -> None:
    assert escape_key(key) == escaped
    assert set(escaped) <= CANONICAL_ALPHABET
    assert unescape_key(escaped[1:]) == key


def test_escape_is_one_to_one_on_random_keys() -> None:
    rng = random.Random(11)
    alphabet = [*"ab~%+ ()*=,-._", "ü", "🐈", "~20", "%20", "~7E"]
    seen: dict[str, str] = {}
    for _ in range(3000):
        key = "/".join(
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
            for _ in range(rng.randint(1, 3))
        )
        escaped = escape_key(key)
        assert set(escaped) <= CANONICAL_ALPHABET
        assert unescape_key(escaped[1:]) == key
        assert seen.setdefault(escaped, key) == key, f"{key!r} and {seen[escaped]!r} collide"


def test_public_path_stays_percent_encoded() -> None:
    """What pages write is a normal URL; only the canonical form uses the ~ escape."""
    assert (
        encode_key("photos/red flöwer+1 (2).jpg") == "/photos/red%20fl%C3%B6wer%2B1%20%282%29.jpg"
    )
    assert encode_key("a~b.jpg") == "/a~b.jpg"


@pytest.mark.parametrize("escaped", ["a~", "a~2", "a~zz", "~C3", "~FF", "~ED~A0~80", "~C0~AF"])
def test_unescape_rejects_bad_escapes_and_bad_utf8(escaped: str) -> None:
    with pytest.raises(BadRequest, match="invalid ~ escape in path"):
        unescape_key(escaped)


def test_unescape_takes_unescaped_characters_as_they_are() -> None:
    assert unescape_key("a b%ü~2F~c3~bc") == "a b%ü/ü"


def test_length_limit_counts_escaped_bytes() -> None:
    policy = load_policy()
    assert policy.max_key_bytes == 960
    assert validate_key("a" * 960, policy)
    assert validate_key("ü" * 160, policy)  # 320 UTF-8 bytes, 960 escaped
    assert validate_key("~" * 320, policy)
    for key in ["a" * 961, "ü" * 161, "~" * 321, "a" * 958 + "/~"]:
        with pytest.raises(BadRequest, match="escaped key longer than 960 bytes"):
            validate_key(key, policy)


def test_longest_derived_key_fits_s3() -> None:
    longest = Variant("ü" * 160, 3840, 3840, "contain", 100, "avif", True)
    assert len(longest.derived_key.encode()) <= 1024
    assert len(exact_path(longest.derived_key)) <= 4000  # CloudFront's path limit


def test_derived_key_is_the_canonical_uri_cloudfront_sends() -> None:
    v = Variant("photos/red flöwer+1 (2).jpg", 640, None, None, 75, "avif", True)
    assert v.derived_key == "photos/red~20fl~C3~B6wer~2B1~20~282~29.jpg/w=640,q=75,f=auto-avif"
    assert f"/{v.derived_key}" == v.canonical_uri
    assert exact_path(v.derived_key) == v.canonical_uri
    assert v.derived_key.startswith(derived_prefix(v.key))
    assert is_variant_of(v.derived_key, v.key)
    assert owner_of(v.derived_key) == v.key


def test_variant_membership() -> None:
    key = "photos/cat.jpg"
    assert derived_prefix(key) == "photos/cat.jpg/"
    assert is_variant_of("photos/cat.jpg/w=640,q=75,f=auto-avif", key)
    assert not is_variant_of("photos/cat.jpg/x.png/w=640,q=75,f=auto-avif", key)
    assert not is_variant_of("photos/cat.jpg.bak/w=640,q=75,f=webp", key)
    assert derived_prefix("a b/ü.jpg") == "a~20b/~C3~BC.jpg/"
    assert is_variant_of("a~20b/~C3~BC.jpg/q=75,f=webp", "a b/ü.jpg")
    # the pre-escape name of the same variant is not one of its variants any more
    assert not is_variant_of("a b/ü.jpg/q=75,f=webp", "a b/ü.jpg")


def test_owner_of_old_and_new_names() -> None:
    assert owner_of("a~20b/~C3~BC.jpg/q=75,f=webp") == "a b/ü.jpg"
    assert owner_of("photos/cat.jpg/w=640,q=75,f=auto-avif") == "photos/cat.jpg"
    # Stored before the ~XX escape (the key verbatim): still owned, so --all sweeps it.
    assert owner_of("a b/ü.jpg/q=75,f=webp") == "a b/ü.jpg"
    assert owner_of("a~b.jpg/q=75,f=webp") == "a~b.jpg"
    assert owner_of("a~C3~BC.jpg/q=75,f=webp") == "aü.jpg"
    assert owner_of("a~c3~bc.jpg/q=75,f=webp") == "a~c3~bc.jpg"  # not canonical hex
    assert owner_of("photos/cat.jpg") is None
    assert owner_of("w=640,q=75,f=webp") is None


def test_invalidation_paths_carry_no_percent() -> None:
    assert exact_path("a~20b/~C3~BC~2B~2A.jpg/q=75,f=webp") == "/a~20b/~C3~BC~2B~2A.jpg/q=75,f=webp"
    # an old-style derived key gets its original's current cache key
    assert exact_path("a b/ü+*.jpg/q=75,f=webp") == "/a~20b/~C3~BC~2B~2A.jpg/q=75,f=webp"
    assert wildcard_path("photos/cat.jpg") == "/photos/cat.jpg/*"
    assert wildcard_path("odd*name.jpg") == "/odd~2Aname.jpg/*"  # never a wildcard
