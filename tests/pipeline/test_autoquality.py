"""q=auto on real photos: the search meets its (fast-metric) target cheaply and repeatably."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from origin_handler.pipeline import autoquality
from origin_handler.pipeline.autoquality import LEVELS, MAX_ENCODES, Scorer, search
from origin_handler.pipeline.formats import AVIF_SCALE, ENCODERS
from origin_handler.pipeline.geometry import draft_scale
from origin_handler.pipeline.options import RenderOptions
from origin_handler.pipeline.transform import render
from origin_handler.policy import load_policy
from tests.conftest import ROOT

PHOTO = ROOT / "examples" / "images" / "jon-tyson-FKkK1hnTe-Q-unsplash.jpg"
PORTRAIT = ROOT / "examples" / "images" / "mike-castro-demaria-94BUerwdFP8-unsplash.jpg"


def frame(path=PHOTO, width=640) -> Image.Image:
    """The pipeline's own resized frame (lossless), as the search sees it."""
    body = render(path.read_bytes(), RenderOptions(width, None, None, 100, "png")).body
    return Image.open(io.BytesIO(body)).convert("RGB")


def encoder(im: Image.Image, fmt: str, calls: list[int] | None = None):
    def run(quality: int) -> bytes:
        if calls is not None:
            calls.append(quality)
        out = io.BytesIO()
        im.save(out, ENCODERS[fmt].pil_format, **{**ENCODERS[fmt].params, "quality": quality})
        return out.getvalue()

    return run


def test_levels_are_the_policy_levels():
    policy = load_policy()
    assert set(LEVELS) == set(policy.auto_levels)
    assert policy.auto_default in LEVELS
    assert LEVELS["high"] > LEVELS["good"] > LEVELS["eco"]


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
@pytest.mark.parametrize("path", [PHOTO, PORTRAIT])
def test_chosen_quality_meets_the_target_with_fewer_bytes_than_a_higher_one(fmt, path):
    im = frame(path)
    scorer, encode = Scorer(im), encoder(im, fmt)
    target = LEVELS["good"]
    choice = search(scorer, fmt, target, encode, start=60)
    assert choice.score is not None and choice.score >= target
    assert 1 <= choice.encodes <= MAX_ENCODES
    assert scorer.score(fmt, choice.body) == choice.score
    higher = encode(min(100, choice.quality + 5))
    assert scorer.score(fmt, higher) >= target  # also meets it…
    assert len(choice.body) < len(higher)  # …for more bytes


def test_estimate_rises_with_quality_on_a_real_photo():
    im = frame()
    scorer, encode = Scorer(im), encoder(im, "webp")
    scores = [scorer.score("webp", encode(q)) for q in (5, 50, 85, 100)]
    assert scores == sorted(scores)
    assert scores[0] < LEVELS["eco"] < LEVELS["good"] < scores[-1]


def test_the_hint_is_the_first_try_and_ends_the_search_when_it_fits():
    im = frame()
    first = search(Scorer(im), "jpeg", LEVELS["good"], encoder(im, "jpeg"), start=40)
    calls: list[int] = []
    again = search(Scorer(im), "jpeg", LEVELS["good"], encoder(im, "jpeg", calls), first.quality)
    assert calls[0] == first.quality
    assert again.quality <= first.quality and again.score >= LEVELS["good"]


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_render_reports_the_choice_and_is_deterministic(fmt):
    data = PHOTO.read_bytes()
    options = RenderOptions(640, None, None, 0, fmt, auto="good")
    one, two = render(data, options), render(data, options)
    assert one.body == two.body
    assert (one.quality, one.score, one.encodes) == (two.quality, two.score, two.encodes)
    assert one.quality is not None and one.score is not None
    assert 1 <= one.encodes <= MAX_ENCODES + 1
    assert "search" in one.timings
    decoded = Image.open(io.BytesIO(one.body))
    assert decoded.format == ENCODERS[fmt].pil_format and decoded.size == (640, 480)


def test_avif_is_mapped_from_the_jpeg_search_with_one_avif_encode():
    im = frame()
    proxy = search(
        Scorer(im), "jpeg", LEVELS["good"], encoder(im, "jpeg"), autoquality.start_quality(80)
    )
    rendered = render(PHOTO.read_bytes(), RenderOptions(640, None, None, 0, "avif", auto="good"))
    assert rendered.quality == AVIF_SCALE(proxy.quality)
    assert rendered.encodes == proxy.encodes + 1


def test_higher_levels_cost_more_bytes():
    data = PHOTO.read_bytes()
    sizes = [
        len(render(data, RenderOptions(640, None, None, 0, "webp", auto=level)).body)
        for level in ("eco", "good", "high")
    ]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_small_frames_get_the_calibrated_quality_without_a_search():
    rendered = render(PHOTO.read_bytes(), RenderOptions(256, None, None, 0, "webp", auto="good"))
    assert rendered.encodes == 1 and rendered.score is None
    assert rendered.quality == ENCODERS["webp"].quality(autoquality.start_quality(80))


def test_png_auto_is_plain_lossless():
    data = (ROOT / "examples" / "images" / "bonfire-rgba.png").read_bytes()
    auto = render(data, RenderOptions(640, None, None, 0, "png", auto="good"))
    fixed = render(data, RenderOptions(640, None, None, 75, "png"))
    assert auto.body == fixed.body and auto.quality is None


def test_fine_levels_decode_jpegs_at_full_scale():
    assert draft_scale(0.1) == 4 and draft_scale(0.1, fine=True) == 1
    data = PHOTO.read_bytes()
    drafted = render(data, RenderOptions(640, None, None, 100, "png", auto="good"))
    full = render(data, RenderOptions(640, None, None, 100, "png", auto="high"))
    # PNG is lossless: only the decode differs between the two.
    assert drafted.body != full.body
