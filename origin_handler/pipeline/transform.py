"""The pure Pillow pipeline: original bytes + RenderOptions → rendered bytes. No I/O."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field, replace

from PIL import Image, ImageFile, ImageMath, UnidentifiedImageError

from ..errors import EncodeError, TooLarge, Undecodable, UnsupportedFormat
from ..policy import ORIGINAL_FAMILY, Policy, load_policy
from ..settings import Limits
from . import autoquality, passthrough
from .colour import to_srgb
from .formats import ALLOWED_DECODERS, ENCODERS, SOURCE_FAMILY, Encoder, sniff
from .geometry import ORIENT, Plan, draft_scale, plan, scaled_box, upright
from .options import RenderOptions
from .pngdecode import open_png
from .resample import resize

# The pixel limit is ours (Limits.max_source_pixels, checked from the header right after
# Image.open, which allocates no pixels); Pillow's fixed bomb check would override it.
Image.MAX_IMAGE_PIXELS = None

# Explicit q from which JPEGs are decoded at full scale (geometry.draft_scale's ``fine``).
FINE_DECODE_QUALITY = 90

# What Pillow's decoders raise on bad data (the AVIF plugin raises RuntimeError); found
# by tests/test_transform.py's mutation test, which feeds damaged files of every format.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    TypeError,
    RuntimeError,
)


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
    # q=auto: the encoder quality chosen, its estimated SSIMULACRA2 and the encodes it took.
    quality: int | None = None
    score: float | None = None
    encodes: int = 1


class _Clock:
    """Named laps in milliseconds for Server-Timing."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + (now - self._last) * 1000
        self._last = now


def render(
    data: bytes,
    options: RenderOptions,
    *,
    limits: Limits | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    policy: Policy | None = None,
) -> Rendered:
    """Decode, orient, resize, colour-manage, strip and encode one variant."""
    limits = limits or Limits()
    clock = _Clock()
    im, source_format = _open(data, limits)
    orientation = _orientation(im)
    src_w, src_h = upright(im.size, orientation)
    geometry = plan(src_w, src_h, options, policy or load_policy())
    frames = _frame_count(im)
    animate = (
        options.format in ENCODERS
        and ENCODERS[options.format].animation
        and 1 < frames <= limits.max_frames
        # Every frame is decoded at full size: the budget counts source pixels.
        and frames * src_w * src_h <= limits.max_animated_pixels
    )
    clock.lap("decode")
    if animate:
        pictures, durations = _render_animation(im, orientation, geometry, limits)
        recoloured = False
        clock.lap("resize")
    else:
        picture, recoloured = _render_frame(im, orientation, geometry, clock, _fine(options))
        pictures, durations = [picture], []
    source_alpha = any(_has_alpha(p) for p in pictures)
    out_format = options.format
    if out_format == ORIGINAL_FAMILY:
        out_format = "png" if source_alpha else "jpeg"
    encoder = ENCODERS[out_format]
    pictures = [_finish(p, encoder.alpha, source_alpha, geometry, background) for p in pictures]
    choice = None
    if options.auto and encoder.quality is not None and len(pictures) == 1:
        encoders = {out_format: _encoder_at(pictures[0], encoder)}
        if out_format == "jpeg":
            encoders["jpeg444"] = _encoder_at(pictures[0], JPEG_444)
        choice = autoquality.choose(pictures[0], out_format, options.auto, encoders, options.hint)
        body = choice.body
        clock.lap("search")
    else:  # PNG (lossless: q=auto means nothing more) and animations: the fixed quality
        # A GIF without a loop extension plays once; 0 would make it loop forever.
        body = _encode(pictures, durations, encoder, options.quality, im.info.get("loop", 1))
    width, height = pictures[0].size
    untouched = (
        SOURCE_FAMILY.get(source_format) == out_format
        and orientation == 1
        and frames == 1
        and not recoloured
        and geometry.is_identity(src_w, src_h)
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
        choice.quality if choice else None,
        choice.score if choice else None,
        choice.encodes if choice else 1,
    )


def _open(data: bytes, limits: Limits) -> tuple[Image.Image, str]:
    """Refuse by size and magic number, open (header only), refuse by pixel count."""
    if not data:
        raise Undecodable("empty image")
    if len(data) > limits.max_source_bytes:
        raise TooLarge(f"original is over {limits.max_source_bytes} bytes")
    sniffed = sniff(data)
    if sniffed is None:
        raise UnsupportedFormat("not an allowed image format (jpeg, png, gif, webp, avif)")
    try:
        if sniffed == "PNG":
            im = open_png(data)
        else:
            im = Image.open(io.BytesIO(data), formats=ALLOWED_DECODERS)
    except UnidentifiedImageError:
        raise Undecodable(f"cannot decode {sniffed.lower()} image") from None
    except DECODE_ERRORS as exc:
        raise _decode_error(exc, sniffed) from None
    width, height = im.size
    if width < 1 or height < 1:
        raise Undecodable("image has no pixels")
    if width * height > limits.max_source_pixels:
        raise TooLarge(f"original is over {limits.max_source_pixels} pixels")
    return im, im.format or sniffed


def _decode_error(exc: BaseException, fmt: str) -> Exception:
    # Pillow reports its text-chunk cap (a zTXt bomb) as ValueError("... too large ...").
    if isinstance(exc, ValueError) and "too large" in str(exc).lower():
        return TooLarge("image metadata is over the size limit")
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
    except DECODE_ERRORS:
        return 1


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except DECODE_ERRORS as exc:
        raise _decode_error(exc, im.format or "image") from None


def _fine(options: RenderOptions) -> bool:
    """Whether the request's level can see the 1/2-scale JPEG decode's loss (≥ 95 needed)."""
    if options.auto:
        return autoquality.LEVELS[options.auto] >= autoquality.FINE_DECODE_TARGET
    return options.quality >= FINE_DECODE_QUALITY


def _render_frame(
    im: Image.Image, orientation: int, geometry: Plan, clock: _Clock, fine: bool = False
) -> tuple[Image.Image, bool]:
    """Decode (drafting JPEGs in the DCT domain), orient, resize, convert to sRGB.

    Returns the frame and whether colour conversion changed its pixels.
    """
    full = upright(im.size, orientation)
    if im.format == "JPEG":
        reduction = draft_scale(geometry.scale, fine)
        if reduction > 1:
            # max(1, …): Pillow divides by the requested size (a 1 px high JPEG was a 500).
            im.draft(im.mode, (max(1, im.size[0] // reduction), max(1, im.size[1] // reduction)))
    _load(im)
    icc = im.info.get("icc_profile")
    clock.lap("decode")
    frame = _normalize_mode(im)
    if orientation in ORIENT:
        frame = frame.transpose(ORIENT[orientation])
    box = scaled_box(geometry.box, full, frame.size)
    if geometry.size != frame.size or box != (0, 0, *frame.size):
        frame = resize(frame, geometry.size, box)
    clock.lap("resize")
    frame, recoloured = to_srgb(frame, icc)
    clock.lap("colour")
    return frame, recoloured


def _render_animation(
    im: Image.Image, orientation: int, geometry: Plan, limits: Limits
) -> tuple[list[Image.Image], list[int]]:
    frames: list[Image.Image] = []
    durations: list[int] = []
    for index in range(min(_frame_count(im), limits.max_frames)):
        im.seek(index)
        _load(im)
        frame = im.convert("RGBA")
        if orientation in ORIENT:
            frame = frame.transpose(ORIENT[orientation])
        frame = resize(frame, geometry.size, geometry.box)
        frames.append(frame)
        durations.append(int(im.info.get("duration", 100)) or 100)
    return frames, durations


def _normalize_mode(im: Image.Image) -> Image.Image:
    """Bring every decoded mode to L, LA, RGB, RGBA or CMYK (8 bits per channel)."""
    mode = im.mode
    key = im.info.get("transparency")
    if key is not None and (mode in ("1", "L", "RGB") or mode.startswith("I")):
        return _colour_key_alpha(im, key)
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        has_transparency = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_transparency else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I;16") or mode == "I":
        return _grey_to_8_bits(im.convert("I"))
    if mode == "La":
        return im.convert("LA")
    if mode == "RGBa":
        return im.convert("RGBA")
    return im.convert("RGBA" if "A" in mode else "RGB")


def _colour_key_alpha(im: Image.Image, key: int | tuple[int, ...]) -> Image.Image:
    """A PNG tRNS colour key (grey, RGB, 1-bit; 8 or 16 bit) as a real alpha channel."""
    if im.mode.startswith("I"):
        # 16-bit grey: the key is a 16-bit sample, so compare before scaling to 8 bits.
        wide = im.convert("I")
        mask = ImageMath.lambda_eval(lambda a: a["convert"]((a["x"] != key) * 255, "L"), x=wide)
        return Image.merge("LA", (_grey_to_8_bits(wide), mask))
    if im.mode == "RGB" and isinstance(key, tuple) and max(key) > 255:
        # Pillow keeps a 16-bit RGB image's high bytes but the key's full 16-bit samples.
        im.info["transparency"] = tuple(v >> 8 for v in key)
    return im.convert("RGBA" if im.mode == "RGB" else "LA")


def _grey_to_8_bits(wide: Image.Image) -> Image.Image:
    """16-bit grey (mode I) scaled to L, instead of clipping everything above 255 to white."""
    return wide.point(lambda v: v * (1 / 257)).convert("L")


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
        rgba = frame.convert("RGBA")
        flat = Image.new("RGB", frame.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        frame = flat
    if geometry.canvas is not None:
        frame = _pad(frame, geometry.canvas, source_alpha and keep_alpha, background)
    frame.info = {}  # no EXIF, XMP, ICC, comments or text chunks reach any output
    return frame


def _pad(
    frame: Image.Image,
    canvas_size: tuple[int, int],
    transparent: bool,
    background: tuple[int, int, int],
) -> Image.Image:
    """Centre the frame on a canvas: transparent, or the background colour."""
    grey = background[0] == background[1] == background[2]
    if transparent:
        mode, fill = "RGBA", (0, 0, 0, 0)
    elif frame.mode == "L" and grey:
        mode, fill = "L", background[0]
    else:
        mode, fill = "RGB", background
    canvas = Image.new(mode, canvas_size, fill)
    offset = ((canvas_size[0] - frame.size[0]) // 2, (canvas_size[1] - frame.size[1]) // 2)
    canvas.paste(frame.convert(mode), offset)
    return canvas


# q=auto's JPEG past a 4:2:0 ceiling (autoquality._jpeg): the same encoder, no subsampling.
JPEG_444 = replace(ENCODERS["jpeg"], params={**ENCODERS["jpeg"].params, "subsampling": "4:4:4"})


def _encoder_at(frame: Image.Image, encoder: Encoder) -> autoquality.Encode:
    """Encode one frame at the encoder's own quality (what the q=auto search varies)."""
    if encoder.pil_format in ("WEBP", "AVIF") and frame.mode in ("L", "LA"):
        frame = frame.convert("RGBA" if frame.mode == "LA" else "RGB")
    if encoder.pil_format == "JPEG" and frame.mode in ("RGBA", "LA"):
        frame = frame.convert("RGB")  # the AVIF search's JPEG proxy: colour is what it judges
    return lambda quality: _save([frame], encoder, {**encoder.params, "quality": quality})


_MAXBLOCK_LOCK = threading.Lock()


def _save_jpeg_roomy(frame: Image.Image, params: dict) -> io.BytesIO:
    """Save a JPEG whose optimized/progressive output outgrew Pillow's one-shot buffer.

    Pillow sizes that buffer at 1–2 bytes a pixel, and libjpeg fails ("Suspension not allowed
    here", an OSError) when the whole optimized output does not fit: 4:4:4 at high quality on
    fine texture or noise does not, so 4:4:4 always saves this way. Pillow's only knob is the
    module-wide ImageFile.MAXBLOCK floor, raised here for this one save under a lock (the
    local server encodes on several threads).
    """
    out = io.BytesIO()
    with _MAXBLOCK_LOCK:
        saved = ImageFile.MAXBLOCK
        ImageFile.MAXBLOCK = max(saved, 4 * frame.size[0] * frame.size[1] + (1 << 16))
        try:
            frame.save(out, "JPEG", **params)
        finally:
            ImageFile.MAXBLOCK = saved
    return out


def _encode(
    frames: list[Image.Image], durations: list[int], encoder: Encoder, quality: int, loop: int
) -> bytes:
    if encoder.pil_format in ("WEBP", "AVIF") and frames[0].mode in ("L", "LA"):
        frames = [f.convert("RGBA" if f.mode == "LA" else "RGB") for f in frames]
    params = encoder.save_params(quality)
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
    return _save(frames, encoder, params)


def _save(frames: list[Image.Image], encoder: Encoder, params: dict) -> bytes:
    out = io.BytesIO()
    try:
        if encoder.pil_format == "JPEG" and params.get("subsampling") == "4:4:4":
            out = _save_jpeg_roomy(frames[0], params)  # would outgrow Pillow's buffer
        else:
            try:
                frames[0].save(out, encoder.pil_format, **params)
            except OSError:
                if encoder.pil_format != "JPEG":
                    raise
                out = _save_jpeg_roomy(frames[0], params)
    except (KeyError, OSError, ValueError, RuntimeError) as exc:
        # KeyError: Pillow was built without this encoder (e.g. a zip with the wrong wheels).
        raise EncodeError(
            f"cannot encode {encoder.pil_format.lower()}: {type(exc).__name__}"
        ) from None
    return out.getvalue()
