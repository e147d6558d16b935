"""Shared fixtures: sample images, image factories, decoders."""

from __future__ import annotations

import io
import socket
import struct
import zlib
from collections.abc import Iterator
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC (for hand-built and hostile PNGs)."""
    crc = zlib.crc32(ctype + payload)
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def decode(data: bytes) -> Image.Image:
    """A fully loaded image from bytes."""
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(base: str, seconds: float = 15.0) -> None:
    """Block until an `image-origin serve` just started answers HTTP at base."""
    import time

    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(base + "/favicon.ico", timeout=5)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def reset_buckets(client, originals: str, derived: str) -> None:
    """Both buckets on the (shared, session-wide) moto_server, the derived one emptied."""
    existing = {b["Name"] for b in client.list_buckets()["Buckets"]}
    for bucket in (originals, derived):
        if bucket not in existing:
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
    for item in client.list_objects_v2(Bucket=derived).get("Contents", []):
        client.delete_object(Bucket=derived, Key=item["Key"])


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials so boto3 never looks for real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto_server on loopback: S3 over HTTP, as boto3 talks to AWS."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_logger():
    """Undo logs.setup() between tests: it stops propagation, which caplog relies on."""
    from origin_handler import logs

    handlers, propagate = list(logs.logger.handlers), logs.logger.propagate
    logs.logger.propagate = True
    yield
    logs.logger.handlers[:] = handlers
    logs.logger.propagate = propagate
