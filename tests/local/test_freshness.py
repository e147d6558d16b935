"""`image-origin serve --originals DIR` over HTTP: variants never outlive their originals.

The real command in a subprocess, files on disk: the derived store is keyed by the
originals root, a variant is stale once its original's size or mtime changed (also across
restarts), and the in-memory edge cache misses for a changed original.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from PIL import Image

from tests.conftest import free_port, wait_for_server

RED, BLUE, GREEN, YELLOW = (220, 20, 20), (20, 20, 220), (20, 200, 20), (230, 230, 0)
URL_PATH = "/photo.png?w=64&format=png"


def write_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (200, 100)) -> None:
    """A real PNG of one colour; its mtime is moved on so no two versions share one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    Image.new("RGB", size, colour).save(path, "PNG")
    mtime = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(mtime, mtime))


def colour_of(body: bytes) -> tuple[int, int, int]:
    im = Image.open(io.BytesIO(body)).convert("RGB")
    return im.getpixel((im.width // 2, im.height // 2))


@contextmanager
def serve(originals: Path, cwd: Path) -> Iterator[tuple[str, list[dict]]]:
    """`image-origin serve --originals DIR` from ``cwd``; yields its URL and, after it stops,
    its JSON log lines."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "origin_handler.cli",
            "serve",
            "--originals",
            str(originals),
            "--port",
            str(port),
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    lines: list[dict] = []
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base)
        yield base, lines
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        for raw in out.decode().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))


def fetch(base: str) -> requests.Response:
    response = requests.get(base + URL_PATH, timeout=30)
    assert response.status_code == 200, response.text
    return response


def test_same_names_in_another_directory_get_their_own_variants(tmp_path: Path):
    write_png(tmp_path / "a" / "photo.png", RED)
    write_png(tmp_path / "b" / "photo.png", BLUE)
    work = tmp_path / "work"
    work.mkdir()
    with serve(tmp_path / "a", work) as (base, _):
        assert colour_of(fetch(base).content) == RED
    with serve(tmp_path / "b", work) as (base, _):
        assert colour_of(fetch(base).content) == BLUE  # not a's variant of the same name
    assert len(list((work / ".local-derived").iterdir())) == 2  # one store per originals root


def test_an_edited_original_is_rendered_anew_while_serving_and_after_restart(tmp_path: Path):
    originals, work = tmp_path / "photos", tmp_path / "work"
    write_png(originals / "photo.png", RED)
    work.mkdir()
    with serve(originals, work) as (base, lines):
        assert colour_of(fetch(base).content) == RED
        assert fetch(base).headers["X-Cache"].startswith("Hit")
        write_png(originals / "photo.png", GREEN)  # same size in bytes may happen: mtime moves
        edited = fetch(base)
        assert edited.headers["X-Cache"].startswith("Miss")
        assert colour_of(edited.content) == GREEN
        assert fetch(base).headers["X-Cache"].startswith("Hit")
    edge = [line for line in lines if line.get("source") == "edge"]
    assert [line["cache"] for line in edge] == ["miss", "hit", "stale", "hit"]

    write_png(originals / "photo.png", YELLOW, size=(300, 150))  # edited while stopped
    with serve(originals, work) as (base, _):
        restarted = fetch(base)
        assert colour_of(restarted.content) == YELLOW
        assert Image.open(io.BytesIO(restarted.content)).size == (64, 32)
