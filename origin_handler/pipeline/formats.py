"""Per-format data: decoder allow-list, magic numbers, encoder settings and the quality scale."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

# Only these decoders ever run; EPS/PS/PDF (Ghostscript) and the long tail stay off.
ALLOWED_DECODERS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF")

# (offset, magic) → Pillow format name; checked before Image.open so non-images get a 415.
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (8, b"WEBP", "WEBP"),
    (4, b"ftypavif", "AVIF"),
    (4, b"ftypavis", "AVIF"),
)


def sniff(data: bytes) -> str | None:
    """The allowed format the bytes start like, or None."""
    for offset, magic, name in SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            if name == "WEBP" and data[:4] != b"RIFF":
                continue
            return name
    return None


@dataclass(frozen=True)
class QualityScale:
    """Piecewise-linear map from the public q (1–100) to one encoder's own quality."""

    points: tuple[tuple[int, int], ...]

    def __call__(self, q: int) -> int:
        """Encoder quality for public q, interpolated between calibration points."""
        xs = [p[0] for p in self.points]
        i = bisect_left(xs, q)
        if i == 0:
            return self.points[0][1]
        if i == len(xs):
            return self.points[-1][1]
        (x0, y0), (x1, y1) = self.points[i - 1], self.points[i]
        return round(y0 + (y1 - y0) * (q - x0) / (x1 - x0))


@dataclass(frozen=True)
class Encoder:
    """How to save one output format with Pillow."""

    pil_format: str
    content_type: str
    alpha: bool
    animation: bool
    quality: QualityScale | None
    params: dict[str, Any] = field(default_factory=dict)

    def save_params(self, q: int) -> dict[str, Any]:
        """Keyword arguments for Image.save at public quality q."""
        params = dict(self.params)
        if self.quality is not None:
            params["quality"] = self.quality(q)
        return params


# Calibrated by bench/calibrate.py (docs/output-and-quality.md, "Quality calibration"): the
# same public q gives about the same SSIMULACRA2 score in JPEG, WebP and AVIF on the sample photos.
JPEG_SCALE = QualityScale(((1, 1), (100, 100)))
WEBP_SCALE = QualityScale(
    (
        (1, 1),
        (20, 2),
        (30, 14),
        (40, 29),
        (50, 43),
        (60, 56),
        (70, 77),
        (75, 82),
        (80, 87),
        (85, 91),
        (90, 94),
        (95, 100),
        (100, 100),
    )
)
AVIF_SCALE = QualityScale(
    (
        (1, 1),
        (20, 3),
        (30, 17),
        (40, 27),
        (50, 35),
        (60, 41),
        (70, 49),
        (75, 56),
        (80, 64),
        (85, 73),
        (90, 83),
        (95, 90),
        (100, 96),
    )
)

# AVIF (docs/output-and-quality.md, "AVIF encoder settings"): aom speed 6 in 4:4:4 with the
# searches that cost most time for least gain on photos switched off. On four sample photos
# at w1280 it encodes in 270–450 ms, about as fast as plain speed 7 (220–340 ms), for +6 %
# bytes on average against Pillow's speed 5 at equal SSIMULACRA2, where plain speed 7 is
# +21 %. Palette and trellis search are the big costs; 4:4:4 buys back what dropping
# rectangular partitions loses.
AVIF_SPEED = 6
AVIF_SUBSAMPLING = "4:4:4"
AVIF_TUNING = (  # aom option pairs, passed through libavif to both colour and alpha planes
    ("enable-palette", "0"),
    ("enable-paeth-intra", "0"),
    ("enable-smooth-intra", "0"),
    ("disable-trellis-quant", "1"),
    ("enable-rect-partitions", "0"),
)

ENCODERS: dict[str, Encoder] = {
    "jpeg": Encoder(
        "JPEG",
        "image/jpeg",
        alpha=False,
        animation=False,
        quality=JPEG_SCALE,
        params={"optimize": True, "progressive": True, "subsampling": "4:2:0"},
    ),
    "webp": Encoder(
        "WEBP",
        "image/webp",
        alpha=True,
        animation=True,
        quality=WEBP_SCALE,
        params={"method": 4},
    ),
    "avif": Encoder(
        "AVIF",
        "image/avif",
        alpha=True,
        animation=False,
        quality=AVIF_SCALE,
        params={"speed": AVIF_SPEED, "subsampling": AVIF_SUBSAMPLING, "advanced": AVIF_TUNING},
    ),
    "png": Encoder(
        "PNG",
        "image/png",
        alpha=True,
        animation=False,
        quality=None,
        params={"compress_level": 6},
    ),
}

SOURCE_FAMILY = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "AVIF": "avif", "GIF": "gif"}
