"""The pure Pillow pipeline: original bytes + TransformRequest → rendered bytes. No I/O."""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageCms, UnidentifiedImageError

from . import passthrough
from .errors import TooLarge, Undecodable, UnsupportedFormat
from .formats import ALLOWED_DECODERS, ENCODERS, SOURCE_FAMILY, sniff
from .policy import Policy, load_policy
from .request import ORIGINAL_FAMILY, TransformRequest
from .settings import Limits

# Our own pixel limit is checked from the header; Pillow's bomb check stays as a backstop.
warnings.simplefilter("error", Image.DecompressionBombWarning)
Image.MAX_IMAGE_PIXELS = 250_000_000

SRGB = ImageCms.createProfile("sRGB")
# Box reduce() by an integer factor before LANCZOS whenever the shrink is ≥ 2× that
# factor (what libvips does, its "gap" is 2 too). Matters for sources draft() cannot
# shrink (PNG, WebP, GIF): 14 MP RGBA PNG → w640 resize 240 → 145 ms, SSIMULACRA2 against
# a plain LANCZOS resize 97.4 (gap 3 = 100, but no reduce happens below a 6× shrink).
# JPEGs are drafted first (below), which leaves less than 4× for the resize: no reduce.
REDUCING_GAP = 2.0
# JPEG draft(): decode in the DCT domain at 1/2, 1/4 or 1/8 scale, keeping this much
# headroom over the target for the LANCZOS resize that follows. The 1/2-scale IDCT (4×4)
# filters well: with 1.5× headroom a 12 MP → w1280 variant lost 0.3 SSIMULACRA2 end to end
# (encoded, against full decode + LANCZOS) and took 40 % less time. The 1/4 and 1/8 IDCTs
# are box-like: 1.5× headroom after them cost 2 points at w640, so they keep 2×. Drafting
# straight to the target (no headroom) was measured at SSIM 0.963 → 0.955.
DRAFT_HEADROOM = {2: 1.5, 4: 2.0, 8: 2.0}
# EXIF orientation value → the transpose that makes the pixels upright.
ORIENT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


@dataclass(frozen=True)
class Rendered:
    """An encoded variant and what it cost to make."""

    body: bytes
    content_type: str
    format: str
    width: int
    height: int
    passthrough: bool = False
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Geometry in upright coordinates: the source box to sample, the image and canvas size."""

    box: tuple[float, float, float, float]
    size: tuple[int, int]
    canvas: tuple[int, int] | None

    @property
    def scale(self) -> float:
        """Output pixels per source pixel."""
        return self.size[0] / (self.box[2] - self.box[0])


def plan(src_w: int, src_h: int, req: TransformRequest, policy: Policy) -> Plan:
    """Where to crop, how big to render and whether to pad; never enlarges the source."""
    full = (0.0, 0.0, float(src_w), float(src_h))
    if req.width and req.height and req.fit == "cover":
        k = min(1.0, src_w / req.width, src_h / req.height)
        out_w, out_h = max(1, round(req.width * k)), max(1, round(req.height * k))
        s = max(out_w / src_w, out_h / src_h)
        crop_w, crop_h = out_w / s, out_h / s
        left, top = (src_w - crop_w) / 2, (src_h - crop_h) / 2
        return Plan((left, top, left + crop_w, top + crop_h), (out_w, out_h), None)
    if req.width and req.height and req.fit == "contain":
        k = min(req.width / src_w, req.height / src_h)
        if k <= 1:
            size = (max(1, round(src_w * k)), max(1, round(src_h * k)))
            return Plan(full, size, (req.width, req.height))
        return Plan(full, (src_w, src_h), (round(req.width / k), round(req.height / k)))
    box_w = req.width or policy.max_width
    box_h = req.height or policy.max_height
    s = min(1.0, box_w / src_w, box_h / src_h)
    return Plan(full, (max(1, round(src_w * s)), max(1, round(src_h * s))), None)


def render(
    data: bytes,
    req: TransformRequest,
    *,
    limits: Limits | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    policy: Policy | None = None,
) -> Rendered:
    """Decode, orient, resize, colour-manage, strip and encode one variant."""
    limits = limits or Limits()
    policy = policy or load_policy()
    clock = _Clock()
    im, source_format = _open(data, limits)
    orientation = _orientation(im)
    src_w, src_h = im.size
    if orientation in (5, 6, 7, 8):
        src_w, src_h = src_h, src_w
    geometry = plan(src_w, src_h, req, policy)
    frames = _frame_count(im)
    animatable = req.format in ENCODERS and ENCODERS[req.format].animation
    animate = (
        animatable
        and 1 < frames <= limits.max_frames
        and frames * geometry.size[0] * geometry.size[1] <= limits.max_animated_pixels
    )
    clock.lap("decode")
    if animate:
        pictures, durations = _render_animation(im, orientation, geometry, limits)
        clock.lap("resize")
    else:
        pictures, durations = [_render_frame(im, orientation, geometry, clock)], []
    source_alpha = any(_has_alpha(p) for p in pictures)
    out_format = req.format
    if out_format == ORIGINAL_FAMILY:
        out_format = "png" if source_alpha else "jpeg"
    encoder = ENCODERS[out_format]
    pictures = [_finish(p, encoder.alpha, source_alpha, geometry, background) for p in pictures]
    body = _encode(pictures, durations, encoder, req.quality, im.info.get("loop", 0))
    width, height = pictures[0].size
    untouched = (
        SOURCE_FAMILY.get(source_format) == out_format
        and orientation == 1
        and geometry.canvas is None
        and geometry.size == im.size
        and geometry.box == (0.0, 0.0, float(src_w), float(src_h))
        and not _needs_colour_conversion(im)
        and frames == 1
    )
    stripped = passthrough.strip(data, out_format) if untouched else None
    served_original = stripped is not None and len(stripped) <= len(body)
    clock.lap("encode")
    return Rendered(
        stripped if served_original else body,
        encoder.content_type,
        out_format,
        width,
        height,
        served_original,
        clock.laps,
    )


class _Clock:
    """Named laps in milliseconds for Server-Timing."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + (now - self._last) * 1000
        self._last = now


def _open(data: bytes, limits: Limits) -> tuple[Image.Image, str]:
    if not data:
        raise Undecodable("empty image")
    if len(data) > limits.max_source_bytes:
        raise TooLarge(f"original is over {limits.max_source_bytes} bytes")
    sniffed = sniff(data)
    if sniffed is None:
        raise UnsupportedFormat("not an allowed image format (jpeg, png, gif, webp, avif)")
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_DECODERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"original is over {limits.max_source_pixels} pixels") from None
    except UnidentifiedImageError:
        raise Undecodable(f"cannot decode {sniffed.lower()} image") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        raise _decode_error(exc, sniffed) from None
    width, height = im.size
    if width < 1 or height < 1:
        raise Undecodable("image has no pixels")
    if width * height > limits.max_source_pixels:
        raise TooLarge(f"original is over {limits.max_source_pixels} pixels")
    return im, im.format or sniffed


def _decode_error(exc: BaseException, fmt: str) -> Exception:
    if isinstance(exc, ValueError) and "too large" in str(exc).lower():
        return TooLarge("image metadata is over the size limit")
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return TooLarge("original is over the pixel limit")
    return Undecodable(f"cannot decode {fmt.lower()} image")


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not cost the image
        return 1
    return value if value in range(1, 9) else 1


def _frame_count(im: Image.Image) -> int:
    try:
        return int(getattr(im, "n_frames", 1))
    except (OSError, ValueError, EOFError):
        return 1


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        raise _decode_error(exc, im.format or "image") from None


def draft_scale(output_scale: float) -> int:
    """The largest DCT reduction (1, 2, 4, 8) that keeps its headroom over the output."""
    best = 1
    for reduction, headroom in DRAFT_HEADROOM.items():
        if output_scale * reduction * headroom <= 1:
            best = reduction
    return best


def _upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _render_frame(im: Image.Image, orientation: int, geometry: Plan, clock: _Clock) -> Image.Image:
    """Decode (drafting JPEGs in the DCT domain), orient, resize, convert to sRGB."""
    full_w = _upright(im.size, orientation)[0]
    if im.format == "JPEG":
        scale = draft_scale(geometry.scale)
        if scale > 1:
            im.draft(im.mode, (im.size[0] // scale, im.size[1] // scale))
    _load(im)
    icc = im.info.get("icc_profile")
    clock.lap("decode")
    ratio = _upright(im.size, orientation)[0] / full_w  # < 1 when draft() shrank it
    frame = _normalize_mode(im)
    for op in ORIENT.get(orientation, ()):
        frame = frame.transpose(op)
    box = tuple(v * ratio for v in geometry.box)
    if geometry.size != frame.size or box != (0, 0, *frame.size):
        frame = frame.resize(
            geometry.size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP
        )
    clock.lap("resize")
    frame = _to_srgb(frame, icc)
    clock.lap("colour")
    return frame


def _render_animation(
    im: Image.Image, orientation: int, geometry: Plan, limits: Limits
) -> tuple[list[Image.Image], list[int]]:
    frames: list[Image.Image] = []
    durations: list[int] = []
    for index in range(min(_frame_count(im), limits.max_frames)):
        im.seek(index)
        _load(im)
        frame = im.convert("RGBA")
        for op in ORIENT.get(orientation, ()):
            frame = frame.transpose(op)
        frame = frame.resize(geometry.size, Image.Resampling.LANCZOS, box=geometry.box)
        frames.append(frame)
        durations.append(int(im.info.get("duration", 100)) or 100)
    return frames, durations


def _normalize_mode(im: Image.Image) -> Image.Image:
    """Bring every decoded mode to L, LA, RGB, RGBA or CMYK (8 bits per channel)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        has_transparency = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_transparency else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I;16") or mode == "I":
        # 16-bit grey: scale to 8 bits instead of clipping everything above 255 to white.
        return im.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    if mode == "La":
        return im.convert("LA")
    if mode == "RGBa":
        return im.convert("RGBA")
    return im.convert("RGBA" if "A" in mode else "RGB")


@lru_cache(maxsize=32)
def _icc_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return None
    if mode != "CMYK" and _is_srgb(source):
        return None
    out_mode = "RGB" if mode == "CMYK" else mode
    try:
        return ImageCms.buildTransform(
            source, SRGB, mode, out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except ImageCms.PyCMSError:
        return None


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """True for RGB profiles with sRGB's colorants (e.g. Facebook's compact "c2" sRGB)."""
    ours, ref = profile.profile, SRGB
    try:
        pairs = [
            (ours.red_colorant, ref.red_colorant),
            (ours.green_colorant, ref.green_colorant),
            (ours.blue_colorant, ref.blue_colorant),
        ]
        return all(
            abs(a - b) < 0.002
            for mine, theirs in pairs
            for a, b in zip(mine[0], theirs[0], strict=True)
        )
    except (AttributeError, TypeError, IndexError):
        return False


def _needs_colour_conversion(im: Image.Image) -> bool:
    icc = im.info.get("icc_profile")
    return im.mode == "CMYK" or (
        bool(icc) and im.mode in ("RGB", "RGBA") and _icc_transform(icc, im.mode) is not None
    )


def _to_srgb(frame: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB after the resize, where it is cheap; CMYK always ends up RGB."""
    if icc and frame.mode in ("RGB", "RGBA", "CMYK"):
        transform = _icc_transform(icc, frame.mode)
        if transform is not None:
            return ImageCms.applyTransform(frame, transform)
    if frame.mode == "CMYK":
        return frame.convert("RGB")
    return frame


def _has_alpha(frame: Image.Image) -> bool:
    if frame.mode not in ("RGBA", "LA"):
        return False
    low, _ = frame.getchannel("A").getextrema()
    return low < 255


def _finish(
    frame: Image.Image,
    keep_alpha: bool,
    source_alpha: bool,
    geometry: Plan,
    background: tuple[int, int, int],
) -> Image.Image:
    """Pad to the canvas, flatten or drop alpha as the output needs, clear all metadata."""
    if frame.mode in ("RGBA", "LA") and not source_alpha:
        frame = frame.convert("RGB" if frame.mode == "RGBA" else "L")
    if source_alpha and not keep_alpha:
        flat = Image.new("RGB", frame.size, background)
        flat.paste(frame.convert("RGBA"), mask=frame.convert("RGBA").getchannel("A"))
        frame = flat
    if geometry.canvas is not None:
        transparent = source_alpha and keep_alpha
        mode = "RGBA" if transparent else ("L" if frame.mode == "L" else "RGB")
        fill = (0, 0, 0, 0) if transparent else (background if mode == "RGB" else 255)
        canvas = Image.new(mode, geometry.canvas, fill)
        offset = (
            (geometry.canvas[0] - frame.size[0]) // 2,
            (geometry.canvas[1] - frame.size[1]) // 2,
        )
        canvas.paste(frame.convert(mode), offset)
        frame = canvas
    frame.info = {}  # no EXIF, XMP, ICC, comments or text chunks reach any output
    return frame


def _encode(
    frames: list[Image.Image], durations: list[int], encoder, quality: int, loop: int
) -> bytes:
    first = frames[0]
    if encoder.pil_format in ("WEBP", "AVIF") and first.mode in ("L", "LA"):
        frames = [f.convert("RGBA" if f.mode == "LA" else "RGB") for f in frames]
        first = frames[0]
    out = io.BytesIO()
    params = encoder.save_params(quality)
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
    first.save(out, encoder.pil_format, **params)
    return out.getvalue()
