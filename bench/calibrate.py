"""Calibrate the one public q scale: same q → about the same SSIMULACRA2 in JPEG, WebP, AVIF.

JPEG is the reference (public q = libjpeg quality). For every knot q, the real photos are
downscaled to 1280 px wide, encoded as JPEG at quality q with the project's JPEG settings,
and scored with SSIMULACRA2 against the downscaled (lossless) photo. Then for WebP and AVIF
(the project's encoder settings, formats.ENCODERS) a bisection over the integer encoder
quality finds the one whose mean score over the photos is closest to the JPEG mean.

    .venv/bin/python bench/calibrate.py            # print the table and per-q scores
    .venv/bin/python bench/calibrate.py --write    # also rewrite the scales in formats.py

Takes ~4 minutes on 2 cores (the SSIMULACRA2 package is numpy, ~1.5 s a score).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms
from ssimulacra2 import ssimulacra2 as s2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from origin_handler.pipeline.formats import ENCODERS  # noqa: E402

PHOTOS = [
    "jon-tyson-FKkK1hnTe-Q-unsplash.jpg",  # 12 MP street scene
    "rachel-hisko-rEM3cK8F1pk-unsplash.jpg",  # 24 MP
    "mike-castro-demaria-94BUerwdFP8-unsplash.jpg",  # portrait
]
KNOTS = (20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100)
WIDTH = 1280
SRGB = ImageCms.createProfile("sRGB")

# Per worker process: photo name → (RGB image, cached reference pyramid).
_REFS: dict[str, tuple[Image.Image, list[dict[str, np.ndarray]]]] = {}


def load_photo(name: str) -> Image.Image:
    """The photo upright, in sRGB, LANCZOS-downscaled to WIDTH px wide."""
    im = Image.open(ROOT / "examples" / "images" / name)
    im.draft("RGB", (WIDTH * 2, WIDTH * 2 * im.height // im.width))
    icc = im.info.get("icc_profile")
    im = im.convert("RGB")
    if icc:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        im = ImageCms.profileToProfile(im, src, SRGB, outputMode="RGB")
    return im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.Resampling.LANCZOS)


def _xyb(linear: np.ndarray) -> np.ndarray:
    return s2.make_positive_xyb(s2.linear_rgb_to_xyb(linear))


def reference_pyramid(im: Image.Image) -> list[dict[str, np.ndarray]]:
    """The reference-side terms of SSIMULACRA2 per scale, computed once per photo."""
    linear = s2.srgb_to_linear(np.asarray(im, dtype=np.float64))
    scales = []
    for scale in range(s2.kNumScales):
        img = _xyb(linear)
        if img.shape[0] < 8 or img.shape[1] < 8:
            break
        scales.append({"img": img, "mu": s2.blur_image(img), "s11": s2.blur_image(img * img)})
        if scale < s2.kNumScales - 1:
            linear = s2.downsample(linear, 2, 2)
    return scales


def score(ref: list[dict[str, np.ndarray]], distorted: Image.Image) -> float:
    """SSIMULACRA2 of distorted against the cached reference (same maths as the package)."""
    linear = s2.srgb_to_linear(np.asarray(distorted.convert("RGB"), dtype=np.float64))
    msssim = s2.Msssim()
    for index, r in enumerate(ref):
        img2 = _xyb(linear)
        mu2 = s2.blur_image(img2)
        data = s2.MsssimScale()
        data.avg_ssim = s2.ssim_map(
            r["mu"], mu2, r["s11"], s2.blur_image(img2 * img2), s2.blur_image(r["img"] * img2)
        )
        data.avg_edgediff = s2.edge_diff_map(r["img"], r["mu"], img2, mu2)
        msssim.scales.append(data)
        if index < len(ref) - 1:
            linear = s2.downsample(linear, 2, 2)
    return float(msssim.score())


def encode(im: Image.Image, fmt: str, quality: int) -> bytes:
    """Encode with the project's settings for fmt at the encoder's own quality."""
    encoder = ENCODERS[fmt]
    params = dict(encoder.params, quality=quality)
    if fmt == "avif":
        params["max_threads"] = 1
    out = io.BytesIO()
    im.save(out, encoder.pil_format, **params)
    return out.getvalue()


def evaluate(job: tuple[str, str, int]) -> tuple[float, int]:
    """(score, bytes) of one photo encoded as fmt at encoder quality."""
    name, fmt, quality = job
    if name not in _REFS:
        im = load_photo(name)
        _REFS[name] = (im, reference_pyramid(im))
    im, ref = _REFS[name]
    body = encode(im, fmt, quality)
    return score(ref, Image.open(io.BytesIO(body))), len(body)


class Calibrator:
    """Mean SSIMULACRA2 over the photos per (format, encoder quality), memoized."""

    def __init__(self, pool: ProcessPoolExecutor, photos: list[str]) -> None:
        self.pool, self.photos = pool, photos
        self.cache: dict[tuple[str, int], tuple[float, float]] = {}

    def mean(self, fmt: str, quality: int) -> tuple[float, float]:
        """(mean score, mean KB) over the photos."""
        key = (fmt, quality)
        if key not in self.cache:
            results = list(self.pool.map(evaluate, [(p, fmt, quality) for p in self.photos]))
            self.cache[key] = (
                sum(r[0] for r in results) / len(results),
                sum(r[1] for r in results) / len(results) / 1024,
            )
        return self.cache[key]

    def match(self, fmt: str, target: float, low: int) -> int:
        """Encoder quality in [low, 100] whose mean score is closest to target.

        Bisection over the integer quality (scores rise with quality), with the bracket
        started from every quality already measured and each cut placed by linear
        interpolation between the bracket's scores: ~3 encodings per knot instead of ~7.
        """
        scores = {qq: v[0] for (f, qq), v in self.cache.items() if f == fmt and qq >= low}
        below = [qq for qq, v in scores.items() if v < target]
        above = [qq for qq, v in scores.items() if v >= target]
        lo = max(below) if below else low
        hi = min(above) if above else 100
        if self.mean(fmt, hi)[0] < target:
            return hi
        if self.mean(fmt, lo)[0] >= target:
            return lo
        while hi - lo > 1:  # invariant: score(lo) < target <= score(hi)
            s_lo, s_hi = self.mean(fmt, lo)[0], self.mean(fmt, hi)[0]
            guess = lo + (target - s_lo) / (s_hi - s_lo) * (hi - lo)
            mid = min(hi - 1, max(lo + 1, round(guess)))
            if self.mean(fmt, mid)[0] >= target:
                hi = mid
            else:
                lo = mid
        s_lo, s_hi = self.mean(fmt, lo)[0], self.mean(fmt, hi)[0]
        return lo if target - s_lo < s_hi - target else hi


def write_scales(table: dict[str, list[tuple[int, int]]]) -> None:
    """Rewrite WEBP_SCALE and AVIF_SCALE in origin_handler/pipeline/formats.py."""
    path = ROOT / "origin_handler" / "pipeline" / "formats.py"
    text = path.read_text()
    for fmt, name in (("webp", "WEBP_SCALE"), ("avif", "AVIF_SCALE")):
        points = ((1, 1), *table[fmt]) if table[fmt][0][0] > 1 else tuple(table[fmt])
        # Written as ruff formats it, so a later `ruff format` leaves it alone.
        body = "".join(f"        ({q}, {v}),\n" for q, v in points)
        text, n = re.subn(
            rf"^{name} = QualityScale\((?:[^\n]*\)\)|.*?^\))$",
            f"{name} = QualityScale(\n    (\n{body}    )\n)",
            text,
            count=1,
            flags=re.M | re.S,
        )
        if n != 1:
            raise SystemExit(f"could not find {name} in {path}")
    path.write_text(text)


def main() -> None:
    """Run the calibration and print (optionally write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the scales in formats.py")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    started = time.perf_counter()
    table: dict[str, list[tuple[int, int]]] = {"webp": [], "avif": []}
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        cal = Calibrator(pool, PHOTOS)
        low = {"webp": 1, "avif": 1}
        for q in KNOTS:
            target, jpeg_kb = cal.mean("jpeg", q)
            row = [q, target, jpeg_kb]
            for fmt in ("webp", "avif"):
                quality = cal.match(fmt, target, low[fmt])
                low[fmt] = quality
                table[fmt].append((q, quality))
                row += [quality, *cal.mean(fmt, quality)]
            rows.append(row)
            print(
                f"q={row[0]:3d} jpeg {row[1]:.1f} ({row[2]:.0f} KB)"
                f"  webp q{row[3]:<3d} {row[4]:.1f} ({row[5]:.0f} KB)"
                f"  avif q{row[6]:<3d} {row[7]:.1f} ({row[8]:.0f} KB)",
                flush=True,
            )
    print(
        f"\n{len(PHOTOS)} photos at {WIDTH} px wide, {len(cal.cache)} encodings per photo,"
        f" {time.perf_counter() - started:.0f} s\n"
    )
    print(
        "| public q | JPEG quality | SSIMULACRA2 (JPEG) | JPEG KB "
        "| WebP quality | SSIMULACRA2 | WebP KB | AVIF quality | SSIMULACRA2 | AVIF KB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for q, js, jkb, wq, ws, wkb, aq, as_, akb in rows:
        print(
            f"| {q} | {q} | {js:.1f} | {jkb:.0f} | {wq} | {ws:.1f} | {wkb:.0f}"
            f" | {aq} | {as_:.1f} | {akb:.0f} |"
        )
    if args.write:
        write_scales(table)
        print("\nwrote WEBP_SCALE and AVIF_SCALE to origin_handler/pipeline/formats.py")


if __name__ == "__main__":
    main()
