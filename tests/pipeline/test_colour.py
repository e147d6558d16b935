"""Colour management: wide-gamut and CMYK to sRGB, sRGB left alone."""

from __future__ import annotations

import io

from PIL import Image, ImageCms

from origin_handler.pipeline.colour import icc_transform, is_srgb, to_srgb
from tests.conftest import SAMPLES
from tests.icc import display_p3


def _profile(data: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(data))


def test_compact_srgb_profile_is_recognised_and_p3_is_not():
    with Image.open(SAMPLES / "jon-tyson-FKkK1hnTe-Q-unsplash.jpg") as im:
        c2 = im.info["icc_profile"]
    assert is_srgb(_profile(c2)) and icc_transform(c2, "RGB") is None
    assert not is_srgb(_profile(display_p3())) and icc_transform(display_p3(), "RGB")


def test_to_srgb_reports_whether_pixels_changed():
    frame = Image.new("RGB", (4, 4), (200, 100, 50))
    same, changed = to_srgb(frame, None)
    assert same is frame and not changed
    converted, changed = to_srgb(frame, display_p3())
    assert changed and converted.getpixel((0, 0)) != (200, 100, 50)
    cmyk, changed = to_srgb(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), None)
    assert changed and cmyk.mode == "RGB"


def test_rgba_keeps_its_alpha_through_the_transform():
    frame = Image.new("RGBA", (4, 4), (200, 100, 50, 77))
    converted, changed = to_srgb(frame, display_p3())
    assert changed and converted.mode == "RGBA" and converted.getpixel((0, 0))[3] == 77


def test_garbage_profile_is_ignored():
    frame = Image.new("RGB", (4, 4), (1, 2, 3))
    assert to_srgb(frame, b"not a profile") == (frame, False)
