"""The LANCZOS-3 resize: SIMD fast_image_resize (cykooz.resizer) when installed, else Pillow.

Pillow's resampler is scalar C: 33 ms of a 115 ms 12 MP → w640 render, and 210 ms for the
14 MP RGBA PNG. fast_image_resize runs the same Lanczos-3 convolution with AVX2/SSE4.1
(5 ms and 22 ms, alpha premultiplied). Scored against a float-precision Lanczos, both
engines' 8-bit outputs get the same SSIMULACRA2 (tests/test_resample.py checks they agree).
cykooz.resizer has no Linux aarch64 wheel, so arm64 Lambdas use Pillow's resampler.
"""

from __future__ import annotations

from PIL import Image

try:
    from cykooz_resizer import CropBox, FilterType, ResizeAlg, ResizeOptions, Resizer
except ImportError:  # no wheel for this platform (Linux aarch64)
    ACCELERATED = False
else:
    ACCELERATED = True

# Pillow's path only: box reduce() by an integer factor before LANCZOS whenever the shrink
# is ≥ 2× that factor (libvips' "gap" is 2 too). Matters for sources draft() cannot shrink
# (PNG, WebP, GIF): 14 MP RGBA PNG → w640 resize 240 → 145 ms, SSIMULACRA2 against a plain
# LANCZOS resize 97.4. A gap of 1.5 cost 2.3 points end to end at w640; 2 it is.
REDUCING_GAP = 2.0

# Modes fast_image_resize takes from a Pillow image; RGBA is resized premultiplied.
_FAST_MODES = frozenset({"L", "RGB", "RGBA", "CMYK"})

Box = tuple[float, float, float, float]


def engine() -> str:
    """Which resampler resize() uses for RGB images: for the cold-start log and the bench."""
    return "fast_image_resize" if ACCELERATED else "pillow"


def resize(frame: Image.Image, size: tuple[int, int], box: Box) -> Image.Image:
    """Lanczos-3 resize of box (left, top, right, bottom in frame pixels) to size."""
    if ACCELERATED and frame.mode in _FAST_MODES:
        left, top, right, bottom = box
        options = ResizeOptions(
            resize_alg=ResizeAlg.convolution(FilterType.lanczos3),
            crop_box=CropBox(left, top, right - left, bottom - top),
        )
        out = Image.new(frame.mode, size)
        # A Resizer keeps scratch buffers and is not shared: the local server is threaded.
        Resizer().resize_pil(frame, out, options)
        return out
    return frame.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)
