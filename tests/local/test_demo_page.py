"""The demo page in headless Chromium: real Accept header, every image AVIF and rendered."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest

from origin_handler.local.edge import Edge
from origin_handler.local.server import make_server
from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import LocalStore
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import SAMPLES

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--virtual-time-budget=60000",
]


@pytest.fixture
def demo_url(tmp_path):
    store = LocalStore(SAMPLES, tmp_path / "derived")
    server = make_server(Edge(Origin(Settings(), store, load_policy())), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_chromium_gets_avif_for_every_image(demo_url, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is required (scripts/system-deps.sh installs it)"
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            demo_url,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    ).stdout
    images = re.findall(r"<img [^>]*>", dom)
    originals = [p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png")]
    assert len(images) == len(originals)
    served = [re.search(r'data-served-type="([^"]*)"', img) for img in images]
    assert all(m and m.group(1) == "image/avif" for m in served), images
    # Every box comes from the original's info document: upright size, a blur placeholder.
    for img in images:
        width, height = (
            int(re.search(rf' {a}="(\d+)"', img).group(1)) for a in ("width", "height")
        )
        placeholder = re.search(r'data-placeholder="([^"]*)"', img).group(1)
        assert placeholder.startswith(("data:image/webp;base64,", "data:image/jpeg;base64,"))
        assert len(placeholder) <= 400 and placeholder in img.split("style=", 1)[1]
        if 'alt="portrait-orientation-6.jpg"' in img:  # 1800×1200 stored, EXIF 6: portrait
            assert (width, height) == (1200, 1800)
        else:
            assert width > 0 and height > 0
    captions = re.findall(r'<span class="served">([^<]*)</span>', dom)
    assert len(captions) == len(originals)
    for caption in captions:  # "image/avif · 23 KB · 384×288 · /key?w=384&q=75"
        width, height = map(int, re.search(r"(\d+)×(\d+)", caption).groups())
        assert width > 0 and height > 0
