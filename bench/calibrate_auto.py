"""Fit q=auto's estimator: SSIMULACRA2 ≈ a + b·x + c·x² per format (pipeline/autoquality.py).

x is the search's fast metric (blazediff perceptual SSIM, CIELAB, MAD pooling, on 2×-reduced
frames, as −10·log10(1 − s)). For each photo (../shared/photos and the bundled JPEGs) at
w640, the pipeline's frame is encoded on a grid of encoder qualities per format and scored
both ways; prints the fit with its Spearman rank agreement and residuals per format, ready
to paste into ``ESTIMATORS``.

    .venv/bin/python bench/calibrate_auto.py [--photos N]

About 10 minutes on 2 idle cores (SSIMULACRA2 is ~0.4 s a score at w640).
"""

from __future__ import annotations

import argparse
import io
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from auto_bench import photos  # noqa: E402
from calibrate import reference_pyramid, score  # noqa: E402

from origin_handler.pipeline.autoquality import Scorer  # noqa: E402
from origin_handler.pipeline.formats import ENCODERS  # noqa: E402
from origin_handler.pipeline.options import RenderOptions  # noqa: E402
from origin_handler.pipeline.transform import render  # noqa: E402

WIDTH = 640
GRID = {
    "jpeg": (55, 65, 75, 82, 88, 92, 95),
    "webp": (55, 70, 80, 87, 91, 94, 98),
    "avif": (35, 45, 55, 65, 75, 85),
}
SCORE_RANGE = (55.0, 95.0)  # fit where the levels live


def measure(path: str) -> list[tuple[str, float, float]]:
    """(format, fast metric x, SSIMULACRA2) for every grid point of one photo."""
    data = Path(path).read_bytes()
    body = render(data, RenderOptions(WIDTH, None, None, 75, "png")).body
    im = Image.open(io.BytesIO(body)).convert("RGB")
    ref, scorer, rows = reference_pyramid(im), Scorer(im), []
    for fmt, grid in GRID.items():
        encoder = ENCODERS[fmt]
        for q in grid:
            out = io.BytesIO()
            im.save(out, encoder.pil_format, **{**encoder.params, "quality": q})
            encoded = out.getvalue()
            distorted = Image.open(io.BytesIO(encoded)).convert("RGB")
            rows.append((fmt, scorer.metric(encoded), score(ref, distorted)))
    return rows


def main() -> None:
    """Measure, fit and print the ESTIMATORS table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=0, help="first N photos only")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    paths = [str(p) for p in photos()][: args.photos or None]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [r for per_photo in pool.map(measure, paths) for r in per_photo]
    print(f"{len(paths)} photos at w{WIDTH}\n\nESTIMATORS = {{")
    for fmt in GRID:
        pts = [(x, s) for f, x, s in rows if f == fmt and SCORE_RANGE[0] <= s <= SCORE_RANGE[1]]
        x, y = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        design = np.vstack([np.ones_like(x), x, x * x]).T
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        residual = y - design @ coef
        print(
            f'    "{fmt}": ({coef[0]:.4f}, {coef[1]:.4f}, {coef[2]:.4f}),'
            f"  # n={len(pts)} Spearman {spearmanr(x, y).statistic:.3f}"
            f" RMSE {residual.std():.2f} max {abs(residual).max():.1f}"
        )
    print("}")


if __name__ == "__main__":
    main()
