"""Fit q=auto's estimator: SSIMULACRA2 ≈ a + b·x + c·x² per format (pipeline/autoquality.py).

x is the search's fast metric (blazediff perceptual SSIM, CIELAB, MAD pooling, on 2×-reduced
frames, as −10·log10(1 − s)). For each photo (../shared/photos and the bundled JPEGs) at
each calibration width (640 and 1200: the fit does not carry from one to the other), the
pipeline's frame is encoded on a grid of encoder qualities per format and scored both ways;
prints the fit per format and width with its Spearman rank agreement and residuals, ready
to paste into ``ESTIMATORS``. The raw points go to build/calibrate-auto.json
(``--report`` refits from them without measuring again).

    .venv/bin/python bench/calibrate_auto.py [--photos N] [--report]

About 25 minutes on 2 idle cores (SSIMULACRA2 is ~0.4 s a score at w640, ~1.5 s at w1200).
"""

from __future__ import annotations

import argparse
import io
import json
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

WIDTHS = (640, 1200)
RAW = ROOT / "build" / "calibrate-auto.json"
GRID = {
    "jpeg": (55, 65, 75, 82, 88, 92, 95),
    "webp": (55, 70, 80, 87, 91, 94, 98),
    "avif": (35, 45, 55, 65, 75, 85),
}
SCORE_RANGE = (55.0, 95.0)  # fit where the levels live


def measure(job: tuple[str, int]) -> list[tuple[str, int, float, float]]:
    """(format, width, fast metric x, SSIMULACRA2) for every grid point of one photo."""
    path, width = job
    data = Path(path).read_bytes()
    body = render(data, RenderOptions(width, None, None, 75, "png")).body
    im = Image.open(io.BytesIO(body)).convert("RGB")
    ref, scorer, rows = reference_pyramid(im), Scorer(im, exact=False), []
    for fmt, grid in GRID.items():
        encoder = ENCODERS[fmt]
        for q in grid:
            out = io.BytesIO()
            im.save(out, encoder.pil_format, **{**encoder.params, "quality": q})
            encoded = out.getvalue()
            distorted = Image.open(io.BytesIO(encoded)).convert("RGB")
            rows.append((fmt, width, scorer.metric(encoded), score(ref, distorted)))
    return rows


def main() -> None:
    """Measure, fit and print the ESTIMATORS table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=0, help="first N photos only")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="refit from the last run's points")
    args = parser.parse_args()
    if args.report:
        rows = [tuple(r) for r in json.loads(RAW.read_text())["rows"]]
    else:
        paths = [str(p) for p in photos()][: args.photos or None]
        jobs = [(p, w) for w in WIDTHS for p in paths]
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = [r for per_photo in pool.map(measure, jobs) for r in per_photo]
        RAW.parent.mkdir(exist_ok=True)
        RAW.write_text(json.dumps({"photos": len(paths), "rows": rows}))
    print("ESTIMATORS = {")
    for fmt in GRID:
        print(f'    "{fmt}": (')
        for width in WIDTHS:
            pts = [
                (x, s)
                for f, w, x, s in rows
                if f == fmt and w == width and SCORE_RANGE[0] <= s <= SCORE_RANGE[1]
            ]
            x, y = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
            design = np.vstack([np.ones_like(x), x, x * x]).T
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
            residual = y - design @ coef
            print(
                f"        ({width}, ({coef[0]:.4f}, {coef[1]:.4f}, {coef[2]:.4f})),"
                f"  # n={len(pts)} Spearman {spearmanr(x, y).statistic:.3f}"
                f" RMSE {residual.std():.2f} max {abs(residual).max():.1f}"
            )
        print("    ),")
    print("}")


if __name__ == "__main__":
    main()
