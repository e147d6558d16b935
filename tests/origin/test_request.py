"""URL parsing, snapping, Accept negotiation and the canonical round trip."""

from __future__ import annotations

import pytest

from origin_handler.errors import BadRequest
from origin_handler.origin.request import negotiate, parse
from origin_handler.policy import load_policy
from origin_handler.variants import Variant, derived_prefix, is_variant_of

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
SAFARI_17 = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
SAFARI_15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
OLD_SAFARI = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
CURL = "*/*"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (CHROME, "avif"),
        (FIREFOX, "avif"),
        (SAFARI_17, "avif"),
        (SAFARI_15, "webp"),
        (OLD_SAFARI, "orig"),
        (CURL, "orig"),
        (None, "orig"),
        ("", "orig"),
        ("image/*", "orig"),
        ("image/avif;q=0,image/webp", "webp"),
        ("image/avif;q=0, image/webp;q=0", "orig"),
        ("image/avif;q=0.5,image/webp;q=0.9", "webp"),
        ("image/avif;q=0.9,image/webp;q=0.9", "avif"),
        ("IMAGE/AVIF", "avif"),
        ("image/avif ; q=0.000", "orig"),
        ("image/avif;q=2", "orig"),
        ("image/avif;q=abc,image/webp", "webp"),
        ("text/html,image/webp;q=0.001", "webp"),
    ],
)
def test_negotiation_honours_q_values_and_ignores_wildcards(accept, expected):
    assert negotiate(accept, load_policy()) == expected


def test_public_form_snaps_up_and_round_trips():
    req = parse("/photos/cat.jpg", "w=600&q=72&junk=1", CHROME)
    assert req == Variant("photos/cat.jpg", 640, None, None, 75, "avif", True)
    assert req.canonical_uri == "/photos/cat.jpg/w=640,q=75,f=auto-avif"
    assert parse(req.canonical_uri) == req


@pytest.mark.parametrize(
    ("query", "ops"),
    [
        ("", "q=75,f=auto-orig"),
        ("w=1", "w=16,q=75,f=auto-orig"),
        ("w=16", "w=16,q=75,f=auto-orig"),
        ("w=17", "w=32,q=75,f=auto-orig"),
        ("w=99999", "w=3840,q=75,f=auto-orig"),
        ("h=300", "h=384,q=75,f=auto-orig"),
        ("w=300&h=300", "w=384,h=384,fit=cover,q=75,f=auto-orig"),
        ("w=300&h=300&fit=INSIDE", "w=384,h=384,fit=inside,q=75,f=auto-orig"),
        ("w=300&fit=contain", "w=384,q=75,f=auto-orig"),
        ("q=1", "q=50,f=auto-orig"),  # the nearest allowed quality (50, 75, 90)
        ("q=100", "q=90,f=auto-orig"),
        ("q=81", "q=75,f=auto-orig"),
        ("q=83", "q=90,f=auto-orig"),
        ("format=jpg", "q=75,f=jpeg"),
        ("format=WEBP", "q=75,f=webp"),
        ("format=auto", "q=75,f=auto-orig"),
        ("w=&q=", "q=75,f=auto-orig"),
        ("W=640&Q=1", "q=75,f=auto-orig"),
        ("w=6%340", "w=640,q=75,f=auto-orig"),
    ],
)
def test_public_parameters(query, ops):
    req = parse("/a.jpg", query, None)
    assert req.ops == ops
    assert parse(req.canonical_uri) == req


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("w=0", "w"),
        ("w=-5", "w"),
        ("w=12.5", "w"),
        ("w=abc", "w"),
        ("w=1234567", "w"),
        ("h=%zz", "h"),
        ("q=0", "q"),
        ("q=101", "q"),
        ("fit=stretch", "fit"),
        ("format=gif", "format"),
        ("w=100&w=200", "w"),
    ],
)
def test_malformed_parameters_name_the_parameter(query, param):
    with pytest.raises(BadRequest) as info:
        parse("/a.jpg", query, None)
    assert info.value.status == 400
    assert info.value.param == param
    assert param in info.value.message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/", "missing image key"),
        ("/a/../b.jpg", "dot segment in key"),
        ("/a/./b.jpg", "dot segment in key"),
        ("/a//b.jpg", "empty path segment in key"),
        ("/a/", "empty path segment in key"),
        ("/a%00b.jpg", "control character in key"),
        ("/a%0Ab.jpg", "control character in key"),
        ("/a%5Cb.jpg", "backslash in key"),
        ("/a%2F..%2Fb.jpg", "dot segment in key"),
        ("/%E0%A4%A.jpg", "invalid percent-encoding in path"),
        ("/%C3%28.jpg", "invalid percent-encoding in path"),
        ("/" + "a" * 961, "escaped key longer than 960 bytes"),
        ("/" + "%C3%BC" * 161, "escaped key longer than 960 bytes"),
        ("/a~zz/q=75,f=webp", "invalid ~ escape in path"),
        ("photos/cat.jpg", "invalid path"),
    ],
)
def test_hostile_keys_are_rejected(path, message):
    with pytest.raises(BadRequest) as info:
        parse(path, "", None)
    assert info.value.message == message


def test_unicode_space_and_plus_keys_are_escaped_per_segment_without_percent():
    req = parse("/f%C3%B6to/my cat+1.jpg", "w=64", SAFARI_15)
    assert req.key == "föto/my cat+1.jpg"
    assert req.canonical_uri == "/f~C3~B6to/my~20cat~2B1.jpg/w=64,q=75,f=auto-webp"
    assert req.derived_key == "f~C3~B6to/my~20cat~2B1.jpg/w=64,q=75,f=auto-webp"
    assert parse(req.canonical_uri) == req


def test_issue_11_key_has_no_percent_in_its_canonical_uri():
    req = parse("/photos/red%20fl%C3%B6wer%2B1%20(2).jpg", "w=640", CHROME)
    assert req.key == "photos/red flöwer+1 (2).jpg"
    assert req.canonical_uri == "/photos/red~20fl~C3~B6wer~2B1~20~282~29.jpg/w=640,q=75,f=auto-avif"
    assert parse(req.canonical_uri) == req


def test_public_tilde_is_literal_canonical_tilde_is_an_escape():
    public = parse("/a~20b.jpg", "w=64", None)
    assert public.key == "a~20b.jpg"
    assert public.canonical_uri == "/a~7E20b.jpg/w=64,q=75,f=auto-orig"
    assert parse("/a~20b.jpg/w=64,q=75,f=auto-orig").key == "a b.jpg"
    assert parse(public.canonical_uri) == public


@pytest.mark.parametrize(
    "ops",
    [
        "q=75,w=640,f=avif",  # wrong order
        "w=600,q=75,f=avif",  # not an allowed width
        "w=640,q=72,f=avif",  # not on the quality step
        "w=640,h=640,q=75,f=avif",  # fit missing with both dimensions
        "w=640,fit=cover,q=75,f=avif",  # fit without both dimensions
        "w=640,q=75,f=orig",  # orig only when negotiated
        "w=640,q=75,f=auto-jpeg",  # Accept never negotiates jpeg
        "w=640,q=75,f=gif",
        "w=640,w=640,q=75,f=avif",
        "w=640,q=75",
    ],
)
def test_canonical_form_is_strict(ops):
    with pytest.raises(BadRequest, match="not a canonical variant"):
        parse(f"/photos/cat.jpg/{ops}")


def test_canonical_form_ignores_query_and_accept():
    req = parse("/photos/cat.jpg/w=640,q=75,f=webp", "w=16&format=png", CHROME)
    assert (req.width, req.format, req.negotiated) == (640, "webp", False)


def test_keys_with_equals_signs_stay_public():
    req = parse("/photos/a=b.jpg", "w=64", None)
    assert req.key == "photos/a=b.jpg"


def test_variant_membership():
    key = "photos/cat.jpg"
    assert derived_prefix(key) == "photos/cat.jpg/"
    assert is_variant_of("photos/cat.jpg/w=640,q=75,f=auto-avif", key)
    assert not is_variant_of("photos/cat.jpg/x.png/w=640,q=75,f=auto-avif", key)
    assert not is_variant_of("photos/cat.jpg.bak/w=640,q=75,f=webp", key)


def test_random_urls_either_round_trip_or_are_a_400():
    import random

    rng = random.Random(7)
    alphabet = [*"ab./%=&,+ ~-_", "%2F", "%2E", "%00", "%C3%A9", "é", "\n", "~2F", "~C3~A9"]
    alphabet += ["w=", "q=", "h=", "fit=", "format=", "f=", "640", "75", "auto"]
    outcomes = {"ok": 0, "bad": 0}
    for _ in range(3000):
        path = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            req = parse(path, query, rng.choice([None, CHROME, SAFARI_15, CURL]))
        except BadRequest as err:
            assert err.status == 400 and err.message
            outcomes["bad"] += 1
            continue
        outcomes["ok"] += 1
        assert parse(req.canonical_uri) == req
        assert req.canonical_uri.isascii() and "%" not in req.canonical_uri
    assert outcomes["ok"] > 100 and outcomes["bad"] > 100


# ---------------------------------------------------------------- q=auto (issue 15)


@pytest.mark.parametrize(
    ("q", "ops"),
    [
        ("auto", "w=640,q=auto-good,f=webp"),
        ("AUTO", "w=640,q=auto-good,f=webp"),
        ("auto:good", "w=640,q=auto-good,f=webp"),
        ("auto:high", "w=640,q=auto-high,f=webp"),
        ("Auto:ECO", "w=640,q=auto-eco,f=webp"),
    ],
)
def test_q_auto_is_one_canonical_variant_per_level(q, ops):
    req = parse("/photos/cat.jpg", f"w=600&q={q}&format=webp")
    assert req.ops == ops
    assert req.auto == ops.split(",")[1].removeprefix("q=auto-")
    assert parse(req.canonical_uri) == req


@pytest.mark.parametrize("q", ["auto:best", "auto:", "auto-high", "autox", "auto:high:x"])
def test_q_auto_with_an_unknown_level_is_a_400(q):
    with pytest.raises(BadRequest) as err:
        parse("/photos/cat.jpg", f"q={q}")
    assert err.value.message == "invalid q: expected one of auto, auto:high, auto:good, auto:eco"


@pytest.mark.parametrize(
    "ops", ["q=auto,f=webp", "q=auto-best,f=webp", "q=auto-,f=webp", "q=auto-good-x,f=webp"]
)
def test_canonical_q_auto_is_parsed_strictly(ops):
    with pytest.raises(BadRequest, match="not a canonical variant"):
        parse(f"/photos/cat.jpg/{ops}")


def test_q_auto_adds_one_variant_per_level_not_per_quality():
    policy = load_policy()
    fixed = {parse("/k.jpg", f"w=640&q={q}").ops for q in range(1, 101)}
    auto = {
        parse("/k.jpg", f"w=640&q={q}").ops
        for q in ("auto", *(f"auto:{n}" for n in policy.auto_levels))
    }
    assert len(fixed) == len(policy.qualities) == 3
    assert auto == {f"w=640,q=auto-{n},f=auto-orig" for n in policy.auto_levels}


def test_q_auto_reaches_the_pipeline_as_a_level():
    from origin_handler.origin.handler import render_options

    assert render_options(parse("/k.jpg", "w=640&q=auto:high")).auto == "high"
    fixed = render_options(parse("/k.jpg", "w=640&q=90"))
    assert (fixed.auto, fixed.quality) == (None, 90)
