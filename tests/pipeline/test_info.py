"""Image info on real and hostile files: upright size, alpha, frames, colour, placeholders."""

from __future__ import annotations

import base64
import io
import json
import random
import re

import pytest
from PIL import Image, ImageChops, ImageStat

from origin_handler.errors import OriginError
from origin_handler.pipeline import jpegdc
from origin_handler.pipeline.info import BLUR_MAX_CHARS, ImageInfo, describe, render_info
from origin_handler.pipeline.transform import render
from origin_handler.settings import Limits
from tests.conftest import encode
from tests.icc import display_p3
from tests.pipeline.test_transform import (
    BLUE,
    GREEN,
    RED,
    UNDO,
    _animated_gif,
    _colour_key_png,
    _mutations,
    close,
    quadrants,
    req,
)


def placeholder(info: ImageInfo) -> Image.Image:
    """The blur data URL, decoded."""
    header, payload = info.blur_data_url.split(",", 1)
    assert re.fullmatch(r"data:image/(webp|jpeg);base64", header)
    im = Image.open(io.BytesIO(base64.b64decode(payload)))
    im.load()
    return im


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def test_real_photo_is_described_upright(samples):
    data = (samples / "portrait-orientation-6.jpg").read_bytes()
    info = describe(data)
    assert (info.width, info.height, info.format, info.bytes) == (1200, 1800, "jpeg", len(data))
    assert (info.alpha, info.animated, info.frames) == (False, False, 1)
    blur = placeholder(info)
    assert max(blur.size) <= 16 and blur.height > blur.width
    assert len(info.blur_data_url) <= BLUR_MAX_CHARS
    assert not blur.getexif() and "icc_profile" not in blur.info


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied_to_size_and_placeholder(orientation):
    upright = quadrants(160, 80)
    undo = UNDO[orientation]
    stored = upright if undo is None else upright.transpose(undo)
    exif = Image.Exif()
    exif[0x0112] = orientation
    info = describe(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert (info.width, info.height) == (160, 80)
    blur = placeholder(info).convert("RGB")
    assert blur.size == (16, 8)
    assert close(blur.getpixel((2, 1)), RED, 60) and close(blur.getpixel((13, 1)), GREEN, 60)
    assert close(blur.getpixel((2, 6)), BLUE, 60)


def test_json_has_the_documented_fields(samples):
    info = describe((samples / "portrait-orientation-6.jpg").read_bytes())
    doc = json.loads(info.to_json())
    assert list(doc) == [
        "width",
        "height",
        "format",
        "bytes",
        "alpha",
        "animated",
        "frames",
        "dominantColor",
        "thumbHash",
        "blurDataURL",
    ]
    assert doc["blurDataURL"] == info.blur_data_url and doc["thumbHash"] == info.thumbhash
    rendered = render_info((samples / "portrait-orientation-6.jpg").read_bytes())
    assert rendered.content_type == "application/json"
    assert json.loads(rendered.body) == doc and (rendered.width, rendered.height) == (1200, 1800)


def test_alpha_png_keeps_transparency_in_the_placeholder(samples):
    info = describe((samples / "bonfire-rgba.png").read_bytes())
    assert (info.format, info.alpha, info.width, info.height) == ("png", True, 3751, 3751)
    assert info.blur_data_url.startswith("data:image/webp;")  # JPEG has no alpha
    assert placeholder(info).mode == "RGBA"
    assert base64.b64decode(info.thumbhash)[2] & 0x80  # the hash's alpha flag


def test_opaque_rgba_png_has_no_alpha():
    info = describe(encode(Image.new("RGBA", (64, 32), (10, 200, 30, 255)), "PNG"))
    assert not info.alpha and not base64.b64decode(info.thumbhash)[2] & 0x80
    assert close(rgb(info.dominant_color), (10, 200, 30), 4)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_colour_key_transparency_counts_as_alpha(mode):
    assert describe(_colour_key_png(mode)).alpha


def test_animated_gif_and_webp_report_their_frames():
    gif = describe(_animated_gif(5))
    assert (gif.format, gif.animated, gif.frames, gif.width, gif.height) == (
        "gif",
        True,
        5,
        64,
        32,
    )
    assert close(rgb(gif.dominant_color), RED, 10)  # the first frame's
    frames = [Image.new("RGB", (40, 20), c) for c in (GREEN, RED)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)
    webp = describe(data)
    assert (webp.format, webp.animated, webp.frames) == ("webp", True, 2)
    assert close(rgb(webp.dominant_color), GREEN, 10)


@pytest.mark.parametrize("source", ["WEBP", "AVIF", "GIF", "PNG", "JPEG"])
def test_every_allowed_source_format_is_described(source):
    im = quadrants(80, 40)
    info = describe(encode(im if source != "GIF" else im.convert("P"), source, quality=95))
    assert (info.format, info.width, info.height, info.frames) == (source.lower(), 80, 40, 1)
    assert close(placeholder(info).convert("RGB").getpixel((1, 1)), RED, 70)


def test_dominant_colour_is_the_largest_area_not_the_average():
    im = Image.new("RGB", (100, 100), (20, 40, 200))
    im.paste((250, 250, 0), (0, 0, 30, 100))
    assert close(rgb(describe(encode(im, "PNG")).dominant_color), (20, 40, 200), 6)


def test_colour_is_converted_to_srgb():
    p3 = Image.new("RGB", (64, 64), (0, 255, 0))
    info = describe(encode(p3, "JPEG", quality=95, icc_profile=display_p3()))
    r, g, b = rgb(info.dominant_color)
    assert g > 240 and r < 30 and b < 30  # P3 green is outside sRGB: clipped to it
    cmyk = describe(encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95))
    assert close(rgb(cmyk.dominant_color), (255, 0, 0), 40)


# --- the progressive-JPEG fast path ---------------------------------------------------------


def _photo(samples, progressive: bool) -> bytes:
    im = Image.open(samples / "jon-tyson-FKkK1hnTe-Q-unsplash.jpg")
    im.draft("RGB", (1200, 900))
    return encode(im.convert("RGB"), "JPEG", quality=85, progressive=progressive)


def test_dc_scans_give_the_eighth_scale_image(samples):
    data = _photo(samples, progressive=True)
    cut = jpegdc.dc_only(data)
    assert cut is not None and len(cut) < len(data) / 3
    fast = Image.open(io.BytesIO(cut))
    fast.draft("RGB", (fast.size[0] // 8, fast.size[1] // 8))
    full = Image.open(io.BytesIO(data))
    full.draft("RGB", (full.size[0] // 8, full.size[1] // 8))
    assert fast.size == full.size
    small = [im.convert("RGB").resize((32, 24), Image.Resampling.BOX) for im in (fast, full)]
    assert max(ImageStat.Stat(ImageChops.difference(*small)).mean) < 2


def test_progressive_and_baseline_copies_get_the_same_info(samples):
    baseline = describe(_photo(samples, progressive=False))
    progressive = describe(_photo(samples, progressive=True))
    assert (baseline.width, baseline.height) == (progressive.width, progressive.height)
    assert close(rgb(baseline.dominant_color), rgb(progressive.dominant_color), 12)
    a, b = (placeholder(i).convert("RGB") for i in (baseline, progressive))
    assert max(ImageStat.Stat(ImageChops.difference(a, b)).mean) < 6


def test_only_whole_progressive_files_take_the_fast_path(samples):
    progressive = _photo(samples, progressive=True)
    assert jpegdc.dc_only(_photo(samples, progressive=False)) is None
    assert jpegdc.dc_only(progressive[: len(progressive) // 2]) is None  # truncated
    assert jpegdc.dc_only(progressive + b"trailer") is None
    assert jpegdc.dc_only(b"\xff\xd8\xff\xd9") is None


# --- hostile inputs: the transform's guards, the transform's statuses ----------------------


def _status(call) -> int:
    try:
        call()
    except OriginError as err:
        return err.status
    return 200


def _png_bomb() -> bytes:
    from tests.pipeline.test_transform import _png_header, png_chunk, zlib

    data = _png_header(50000, 50000) + png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
    return data + png_chunk(b"IEND", b"")


def _ztxt_bomb() -> bytes:
    from tests.pipeline.test_transform import _png_header, png_chunk, zlib

    bomb = b"Comment\0\0" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    raw = zlib.compress(b"".join(b"\0" + b"\0" * 3 * 8 for _ in range(8)))
    data = _png_header(8, 8) + png_chunk(b"zTXt", bomb) + png_chunk(b"IDAT", raw)
    return data + png_chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("empty", 422),
        ("html", 415),
        ("postscript", 415),
        ("truncated", 422),
        ("pixel bomb", 413),
        ("ztxt bomb", 413),
        ("over byte limit", 413),
    ],
)
def test_hostile_originals_are_refused_like_their_variants(samples, name, status):
    photo = (samples / "portrait-orientation-6.jpg").read_bytes()
    data = {
        "empty": b"",
        "html": b"<!doctype html><html><body>hi</body></html>",
        "postscript": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
        "truncated": photo[: len(photo) // 3],
        "pixel bomb": _png_bomb(),
        "ztxt bomb": _ztxt_bomb(),
        "over byte limit": photo,
    }[name]
    limits = Limits(max_source_bytes=100_000) if name == "over byte limit" else Limits()
    assert _status(lambda: describe(data, limits=limits)) == status
    assert _status(lambda: render(data, req(width=64, fmt="webp"), limits=limits)) == status


def test_thousands_of_frames_are_counted_not_decoded():
    info = describe(_animated_gif(2000))
    assert info.frames == 2000 and close(rgb(info.dominant_color), RED, 10)


@pytest.mark.parametrize(
    ("source", "params"),
    [
        ("JPEG", {"quality": 80}),
        ("JPEG", {"quality": 80, "progressive": True}),
        ("PNG", {}),
        ("GIF", {}),
        ("WEBP", {"quality": 80}),
        ("AVIF", {"quality": 80}),
    ],
    ids=["jpeg", "progressive-jpeg", "png", "gif", "webp", "avif"],
)
def test_damaged_files_get_exactly_the_status_their_variants_get(source, params):
    # Big enough that a progressive copy takes the DC-scan path (≥ 8× over 32 px).
    size = (640, 480) if params.get("progressive") else (48, 32)
    base = quadrants(*size).convert("P" if source == "GIF" else "RGB")
    data = encode(base, source, **params)
    outcomes = set()
    for damaged in _mutations(data, random.Random(f"info-{source}"), 150):
        variant = _status(lambda d=damaged: render(d, req(width=32, fmt="webp")))
        assert _status(lambda d=damaged: describe(d)) == variant
        outcomes.add(variant)
    assert 200 in outcomes and 422 in outcomes  # the mutations really damaged files
