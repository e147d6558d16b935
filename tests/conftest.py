"""Shared fixtures: sample images, image factories, decoders."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "images"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def samples() -> Path:
    """Directory of the bundled real photographs."""
    return SAMPLES


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    """Bytes of an image saved in fmt."""
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    """A fully loaded image from bytes."""
    im = Image.open(io.BytesIO(data))
    im.load()
    return im
