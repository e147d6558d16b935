"""The request-time SSIMULACRA2 against the reference port (the `ssimulacra2` package)."""

from __future__ import annotations

import io

import pytest
import ssimulacra2 as reference
from PIL import Image

from origin_handler.pipeline import ssimulacra2
from origin_handler.pipeline.options import RenderOptions
from origin_handler.pipeline.transform import render
from tests.conftest import SAMPLES

PHOTOS = sorted(SAMPLES.glob("*.jpg"))


def frame(path, width: int) -> Image.Image:
    body = render(path.read_bytes(), RenderOptions(width, None, None, 100, "png")).body
    return Image.open(io.BytesIO(body)).convert("RGB")


def encoded(im: Image.Image, fmt: str, quality: int) -> Image.Image:
    out = io.BytesIO()
    im.save(out, fmt, quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def package_score(ref: Image.Image, dist: Image.Image, tmp_path) -> float:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    ref.save(a)
    dist.save(b)
    return float(reference.compute_ssimulacra2(str(a), str(b)))


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.stem[:20])
def test_agrees_with_the_reference_port(path, tmp_path):
    im = frame(path, 480)
    ours = ssimulacra2.Reference(im)
    for fmt, quality in (("JPEG", 40), ("JPEG", 75), ("JPEG", 92), ("WEBP", 80)):
        dist = encoded(im, fmt, quality)
        expected = package_score(im, dist, tmp_path)
        assert ours.score(dist) == pytest.approx(expected, abs=0.05), (fmt, quality)


def test_identical_is_100_and_scores_fall_with_quality():
    im = frame(PHOTOS[0], 400)
    ours = ssimulacra2.Reference(im)
    assert ours.score(im) == pytest.approx(100.0, abs=1e-3)
    scores = [ours.score(encoded(im, "JPEG", q)) for q in (95, 75, 50, 20)]
    assert scores == sorted(scores, reverse=True) and scores[-1] < 60 < scores[0]


def test_odd_sizes_and_a_size_mismatch(tmp_path):
    im = frame(PHOTOS[1], 333)  # odd width and height at every scale
    dist = encoded(im, "JPEG", 60)
    assert ssimulacra2.Reference(im).score(dist) == pytest.approx(
        package_score(im, dist, tmp_path), abs=0.05
    )
    with pytest.raises(ValueError, match="distorted is"):
        ssimulacra2.Reference(im).score(dist.crop((0, 0, 100, 100)))


def test_only_the_weighted_terms_are_computed():
    assert ssimulacra2.NEEDED == ((1,), (0, 1), (0, 1), (0, 1, 2), (0, 1, 2), ())
    assert ssimulacra2.LAST_SCALE == 5
