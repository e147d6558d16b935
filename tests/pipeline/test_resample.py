"""Both resize engines: same Lanczos-3 result, premultiplied alpha, crop boxes, every mode."""

from __future__ import annotations

import platform

import pytest
from PIL import Image, ImageChops, ImageStat

from origin_handler.pipeline import resample
from tests.conftest import SAMPLES

ENGINES = ["pillow"] + (["fast_image_resize"] if resample.ACCELERATED else [])


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch) -> str:
    monkeypatch.setattr(resample, "ACCELERATED", request.param == "fast_image_resize")
    assert resample.engine() == request.param
    return request.param


def photo() -> Image.Image:
    im = Image.open(SAMPLES / "mike-castro-demaria-94BUerwdFP8-unsplash.jpg")
    im.draft("RGB", (im.width // 2, im.height // 2))
    return im.convert("RGB")


def test_the_simd_engine_is_installed_on_x86_64():
    # pyproject installs cykooz.resizer on x86_64 only; a missing wheel must not go unseen.
    assert (platform.machine() == "x86_64") == resample.ACCELERATED


@pytest.mark.skipif(not resample.ACCELERATED, reason="cykooz.resizer has no Linux aarch64 wheel")
def test_engines_agree_on_a_photo(monkeypatch):
    src = photo()
    box = (10.5, 20.25, src.width - 30.0, src.height - 5.5)
    fast = resample.resize(src, (320, 240), box)
    monkeypatch.setattr(resample, "ACCELERATED", False)
    slow = resample.resize(src, (320, 240), box)
    diff = ImageChops.difference(fast, slow)
    assert max(ImageStat.Stat(diff).mean) < 0.5  # fixed-point rounding, not a different filter
    assert max(high for _, high in diff.getextrema()) <= 16


def test_downscale_keeps_the_picture(engine):
    src = photo()
    out = resample.resize(src, (200, 150), (0, 0, *src.size))
    assert out.size == (200, 150) and out.mode == "RGB"
    reference = src.resize((200, 150), Image.Resampling.BOX)
    assert max(ImageStat.Stat(ImageChops.difference(out, reference)).mean) < 4


def test_crop_box_picks_the_region(engine):
    src = Image.new("RGB", (400, 400), (255, 0, 0))
    src.paste((0, 0, 255), (200, 200, 400, 400))
    out = resample.resize(src, (50, 50), (220.0, 220.0, 380.0, 380.0))
    assert out.getpixel((25, 25)) == (0, 0, 255)
    assert out.getextrema() == ((0, 0), (0, 0), (255, 255))


def test_transparent_pixels_do_not_bleed_their_hidden_colour(engine):
    # Left half: fully transparent but "red" underneath; right half opaque blue.
    src = Image.new("RGBA", (400, 100), (255, 0, 0, 0))
    src.paste((0, 0, 255, 255), (200, 0, 400, 100))
    out = resample.resize(src, (40, 10), (0, 0, 400, 100))
    assert out.mode == "RGBA"
    for x in range(40):
        r, _, b, a = out.getpixel((x, 5))
        if a > 0:
            assert r <= 2 and b >= 250, (x, out.getpixel((x, 5)))
    assert out.getpixel((0, 5))[3] == 0 and out.getpixel((39, 5))[3] == 255


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "CMYK"])
def test_every_pipeline_mode_resizes(engine, mode):
    src = photo().convert(mode)
    out = resample.resize(src, (64, 48), (0, 0, *src.size))
    assert out.mode == mode and out.size == (64, 48)
    first = src.resize((64, 48), Image.Resampling.BOX).getchannel(0)
    assert ImageStat.Stat(ImageChops.difference(out.getchannel(0), first)).mean[0] < 4
