"""Image info: upright size, format, alpha, frames, dominant colour, ThumbHash, blur data URL.

Computed from the header plus one reduced decode: a JPEG is drafted to about 1/8 scale (a
progressive one from its DC scans alone, ``jpegdc``), other formats decode their first
frame as they must. Every guard is the transform's own (byte, pixel and metadata limits,
decoder allow-list, magic numbers), so an original refused for its image variants is
refused for its info with the same status.
"""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass

from PIL import Image

from ..settings import Limits
from . import jpegdc, thumbhash
from .colour import to_srgb
from .formats import SOURCE_FAMILY
from .geometry import ORIENT, upright
from .transform import (
    DECODE_ERRORS,
    Rendered,
    _frame_count,
    _has_alpha,
    _load,
    _normalize_mode,
    _open,
    _orientation,
)

CONTENT_TYPE = "application/json"
# ThumbHash input: its DCT keeps at most 7 terms per axis, which 32 px sample well; the
# reference allows 100 px at ~10× the encode time for no visible difference.
HASH_SIDE = 32
BLUR_SIDE = 16  # issue 14: a ≤ 16 px image, ≤ ~400 characters as a data URL
BLUR_MAX_CHARS = 400
# (longest side, quality) tried in order until the data URL fits BLUR_MAX_CHARS.
BLUR_STEPS = ((16, 50), (16, 30), (12, 30), (8, 30), (8, 10))
DOMINANT_CLUSTERS = 5


@dataclass(frozen=True)
class ImageInfo:
    """What a page needs before the image arrives: size, kind and a placeholder."""

    width: int  # upright: after the EXIF orientation, like every variant
    height: int
    format: str  # the original's: jpeg, png, gif, webp or avif
    bytes: int
    alpha: bool  # the first frame has transparent pixels
    animated: bool
    frames: int
    dominant_color: str  # "#rrggbb", sRGB
    thumbhash: str  # base64
    blur_data_url: str

    def to_dict(self) -> dict[str, object]:
        """The documented JSON object (docs/url-contract.md, "Image info")."""
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "bytes": self.bytes,
            "alpha": self.alpha,
            "animated": self.animated,
            "frames": self.frames,
            "dominantColor": self.dominant_color,
            "thumbHash": self.thumbhash,
            "blurDataURL": self.blur_data_url,
        }

    def to_json(self) -> str:
        """The info document, compact."""
        return json.dumps(self.to_dict(), separators=(",", ":"))


def describe(data: bytes, *, limits: Limits | None = None) -> ImageInfo:
    """Info of an original from its bytes; raises the transform's errors for a bad one."""
    limits = limits or Limits()
    im, source_format = _open(data, limits)
    orientation = _orientation(im)
    width, height = upright(im.size, orientation)
    frames = _frame_count(im)
    if source_format == "MPO":
        # A multi-picture JPEG's other pictures are previews or depth maps, not animation.
        source_format, frames = "JPEG", 1
    icc = im.info.get("icc_profile")
    frame = _normalize_mode(_reduced_decode(im, data))
    alpha = _has_alpha(frame)
    small = frame.resize(_fit(frame.size, HASH_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    if orientation in ORIENT:
        small = small.transpose(ORIENT[orientation])
    small, _ = to_srgb(small, icc)
    rgba = small.convert("RGBA")
    if not alpha:
        rgba.putalpha(255)  # an opaque frame: no alpha term in the hash, whatever rounding did
    return ImageInfo(
        width=width,
        height=height,
        format=SOURCE_FAMILY.get(source_format, source_format.lower()),
        bytes=len(data),
        alpha=alpha,
        animated=frames > 1,
        frames=frames,
        dominant_color=_dominant(rgba),
        thumbhash=base64.b64encode(thumbhash.encode(*rgba.size, rgba.tobytes())).decode(),
        blur_data_url=_blur(rgba, alpha),
    )


def render_info(data: bytes, *, limits: Limits | None = None) -> Rendered:
    """The info document as a rendition, stored and served like any variant."""
    started = time.perf_counter()
    info = describe(data, limits=limits)
    ms = (time.perf_counter() - started) * 1000
    return Rendered(
        info.to_json().encode(),
        CONTENT_TYPE,
        "info",
        info.width,
        info.height,
        timings={"info": ms},
    )


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size scaled to fit a side×side box (never enlarged, never 0)."""
    w, h = size
    scale = min(1.0, side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _reduced_decode(im: Image.Image, data: bytes) -> Image.Image:
    """The first frame, a JPEG at the smallest DCT scale that still covers HASH_SIDE."""
    if im.format in ("JPEG", "MPO"):
        target = _fit(im.size, HASH_SIDE)
        if min(im.size[0] // target[0], im.size[1] // target[1]) >= 8:
            small = _dc_decode(data, target)
            if small is not None:
                return small
        im.draft(im.mode, target)
    _load(im)
    return im


def _dc_decode(data: bytes, target: tuple[int, int]) -> Image.Image | None:
    """A progressive JPEG decoded from its DC scans at 1/8 scale, or None to decode it all."""
    cut = jpegdc.dc_only(data)
    if cut is None:
        return None
    try:
        small = Image.open(io.BytesIO(cut), formats=["JPEG"])
        small.draft(small.mode, target)
        small.load()
    except DECODE_ERRORS:
        return None  # the whole file decides: decoded, or refused as its variants are
    return small


def _dominant(rgba: Image.Image) -> str:
    """The largest median-cut cluster of the (mostly) opaque pixels, as ``#rrggbb``."""
    raw = rgba.tobytes()
    rgb = b"".join(raw[i : i + 3] for i in range(0, len(raw), 4) if raw[i + 3] >= 128)
    if not rgb:  # nothing opaque: the colour of the pixels regardless of alpha
        rgb = rgba.convert("RGB").tobytes()
    pixels = Image.frombytes("RGB", (len(rgb) // 3, 1), rgb)
    clusters = pixels.quantize(DOMINANT_CLUSTERS, Image.Quantize.MEDIANCUT)
    counts = clusters.getcolors() or [(1, 0)]
    _, index = max(counts)
    palette = clusters.getpalette() or [0, 0, 0]
    r, g, b = palette[3 * index : 3 * index + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def _blur(rgba: Image.Image, alpha: bool) -> str:
    """The smallest of WebP and (when opaque) JPEG at each step, until it fits the budget."""
    url = ""
    for side, quality in BLUR_STEPS:
        tiny = rgba.resize(_fit(rgba.size, side), Image.Resampling.LANCZOS)
        if not alpha:
            tiny = tiny.convert("RGB")
        candidates = [_data_url(tiny, "WEBP", "image/webp", quality=quality, method=6)]
        if not alpha:
            candidates.append(_data_url(tiny, "JPEG", "image/jpeg", quality=quality, optimize=True))
        url = min(candidates, key=len)
        if len(url) <= BLUR_MAX_CHARS:
            break
    return url


def _data_url(image: Image.Image, pil_format: str, mime: str, **params: object) -> str:
    out = io.BytesIO()
    image.save(out, pil_format, **params)  # no exif/icc passed: nothing but pixels
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode()}"
