"""Colour management: every output is sRGB; sRGB-tagged inputs are left alone."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageCms

SRGB = ImageCms.createProfile("sRGB")
# Colorant tolerance for "this profile is sRGB": compact profiles (Facebook's "c2")
# round sRGB's primaries to ~1e-4; any real wide-gamut space is off by > 0.05.
SRGB_TOLERANCE = 0.002


@lru_cache(maxsize=32)
def icc_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached transform from the embedded profile to sRGB, or None if none is needed."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return None
    if mode != "CMYK" and is_srgb(source):
        return None
    out_mode = "RGB" if mode == "CMYK" else mode
    try:
        return ImageCms.buildTransform(
            source, SRGB, mode, out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except ImageCms.PyCMSError:
        return None


def is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """True for RGB profiles with sRGB's colorants (e.g. Facebook's compact "c2" sRGB)."""
    ours = profile.profile
    try:
        pairs = [
            (ours.red_colorant, SRGB.red_colorant),
            (ours.green_colorant, SRGB.green_colorant),
            (ours.blue_colorant, SRGB.blue_colorant),
        ]
        return all(
            abs(a - b) < SRGB_TOLERANCE
            for mine, theirs in pairs
            for a, b in zip(mine[0], theirs[0], strict=True)
        )
    except (AttributeError, TypeError, IndexError):
        return False


def to_srgb(frame: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """The frame in sRGB, and whether its pixels changed; CMYK always ends up RGB."""
    if icc and frame.mode in ("RGB", "RGBA", "CMYK"):
        transform = icc_transform(icc, frame.mode)
        if transform is not None:
            return ImageCms.applyTransform(frame, transform), True
    if frame.mode == "CMYK":
        return frame.convert("RGB"), True
    return frame, False
