"""Pure geometry: orientation, crop/resize/pad plan, and how far a JPEG may be drafted."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..policy import Policy
from .options import RenderOptions

# JPEG draft(): decode in the DCT domain at 1/2, 1/4 or 1/8 scale, keeping this much
# headroom over the target for the LANCZOS resize that follows. The 1/2-scale IDCT (4×4)
# filters well: with 1.5× headroom a 12 MP → w1280 variant lost 0.3 SSIMULACRA2 end to end
# (encoded, against full decode + LANCZOS) and took 40 % less time. The 1/4 and 1/8 IDCTs
# are box-like: 1.5× headroom after them cost 2 points at w640, so they keep 2×. Drafting
# straight to the target (no headroom) was measured at SSIM 0.963 → 0.955.
DRAFT_HEADROOM = {2: 1.5, 4: 2.0, 8: 2.0}

# EXIF orientation value → the transpose that makes the stored pixels upright.
ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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

    def is_identity(self, src_w: int, src_h: int) -> bool:
        """True when the plan keeps every source pixel where it is."""
        full = (0.0, 0.0, float(src_w), float(src_h))
        return self.canvas is None and self.size == (src_w, src_h) and self.box == full


def upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size once the EXIF orientation is applied."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def plan(src_w: int, src_h: int, options: RenderOptions, policy: Policy) -> Plan:
    """Where to crop, how big to render and whether to pad; never enlarges the source."""
    full = (0.0, 0.0, float(src_w), float(src_h))
    if options.width and options.height and options.fit == "cover":
        k = min(1.0, src_w / options.width, src_h / options.height)
        out_w, out_h = max(1, round(options.width * k)), max(1, round(options.height * k))
        s = max(out_w / src_w, out_h / src_h)
        crop_w, crop_h = out_w / s, out_h / s
        # Clamped: out/(out/src) can come back a few ulps over src, and a box that reaches
        # past the image by 4e-15 px is refused by both resize engines.
        left, top = max(0.0, (src_w - crop_w) / 2), max(0.0, (src_h - crop_h) / 2)
        right, bottom = min(float(src_w), left + crop_w), min(float(src_h), top + crop_h)
        return Plan((left, top, right, bottom), (out_w, out_h), None)
    if options.width and options.height and options.fit == "contain":
        k = min(options.width / src_w, options.height / src_h)
        if k <= 1:
            size = (max(1, round(src_w * k)), max(1, round(src_h * k)))
            return Plan(full, size, (options.width, options.height))
        return Plan(full, (src_w, src_h), (round(options.width / k), round(options.height / k)))
    box_w = options.width or policy.max_width
    box_h = options.height or policy.max_height
    s = min(1.0, box_w / src_w, box_h / src_h)
    return Plan(full, (max(1, round(src_w * s)), max(1, round(src_h * s))), None)


def scaled_box(
    box: tuple[float, float, float, float], full: tuple[int, int], now: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A box planned on the full-size upright image, mapped onto a drafted one.

    Each axis has its own ratio (draft rounds each side up separately), and the result
    is clamped so rounding can never reach past the drafted image's edge.
    """
    rx, ry = now[0] / full[0], now[1] / full[1]
    left, top, right, bottom = box
    return (left * rx, top * ry, min(right * rx, now[0]), min(bottom * ry, now[1]))


def draft_scale(output_scale: float, fine: bool = False) -> int:
    """The largest DCT reduction (1, 2, 4, 8) that keeps its headroom over the output.

    ``fine`` (auto:high, q ≥ 90): none. The 1/2 IDCT loses fine luma texture whatever the
    headroom: lossless w640 output after it scored 87.8–97.3 SSIMULACRA2 against a full
    decode on camera photos (docs/benchmarks.md, "Decode loss"), visible at those levels.
    """
    if fine:
        return 1
    best = 1
    for reduction, headroom in DRAFT_HEADROOM.items():
        if output_scale * reduction * headroom <= 1:
            best = reduction
    return best
