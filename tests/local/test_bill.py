"""Try to run up the bill: 10,000 random parameter combinations for one original.

A seeded stream of public and canonical URLs — every parameter, valid and not, huge
numbers, repeats, junk, q=auto levels, Accept headers, conditional requests — goes over
real HTTP to `image-origin serve` (a subprocess, as a site developer runs it), a few
clients at once. Then: the variants stored for the original (files in the derived
directory) are at most what `image-origin policy --count` prints, and every answer is a
200 or 304, or a 4xx whose body is one text/plain line — never a 5xx.

The original is a 64×64 JPEG, so every render is milliseconds; the requests snap onto far
fewer variants than they spell.
"""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest
from PIL import Image

COMBINATIONS = 10_000
CLIENTS = 4
KEY = "bill.jpg"
CLI = [sys.executable, "-m", "origin_handler.cli"]

NUMBERS = ["0", "-5", "1.5", "abc", "64px", "+64", "00064", "%36%34", "1e3", "%2064", "%"]
NUMBERS += [
    "999999",
    "1000000",
    "99999999999999999999",
    "0x40",
    "%D9%A3",
]  # the last: an Arabic-Indic 3
QUALITIES = ["0", "101", "75.5", "1e2", "%37%35", "auto", "auto:high", "auto:good"]
QUALITIES += ["auto:eco", "AUTO:ECO", "Auto", "auto:max", "auto-eco", "auto:", "high", "-1"]
FITS = ["cover", "contain", "inside", "fill", "COVER", "Inside", "none", "%63over"]
FORMATS = ["auto", "avif", "webp", "jpeg", "jpg", "png", "gif", "JPG", "tiff", "svg", "Auto"]
JUNK = ["utm_source=x", "W=640", "Format=webp", "v=3", "x", "=", "&&", "q", "w", "%ZZ=1"]
ACCEPTS = [
    None,
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
    "*/*",
    "image/avif;q=0,image/webp;q=0.5",
    "image/avif;q=0.9," * 50 + "image/jpeg",
]
OPS_VALUES = {
    "w": ["16", "640", "641", "3840", "4096", "0640", "1"],
    "h": ["16", "48", "100", "3840"],
    "fit": ["cover", "contain", "fill"],
    "q": ["50", "75", "90", "80", "100", "5", "auto-good", "auto-max", "auto"],
    "f": ["webp", "auto-avif", "auto-orig", "orig", "auto-png", "gif", "info"],
}


def number(rng: random.Random) -> str:
    """A width or height: mostly plausible, sometimes huge or malformed."""
    roll = rng.random()
    if roll < 0.6:
        return str(rng.randint(1, 4000))
    if roll < 0.8:
        return str(rng.randint(4000, 999_999))
    return rng.choice(NUMBERS)


def public_query(rng: random.Random) -> str:
    """A random public query string."""
    params: list[str] = []
    if rng.random() < 0.7:
        params.append(f"w={number(rng)}")
    if rng.random() < 0.35:
        params.append(f"h={number(rng)}")
    if rng.random() < 0.6:
        q = str(rng.randint(1, 100)) if rng.random() < 0.6 else rng.choice(QUALITIES)
        params.append(f"q={q}")
    if rng.random() < 0.3:
        params.append(f"fit={rng.choice(FITS)}")
    if rng.random() < 0.4:
        params.append(f"format={rng.choice(FORMATS)}")
    if rng.random() < 0.2:
        params.append(rng.choice(JUNK))
    if rng.random() < 0.03:
        params.append(rng.choice(["info", "info=", "info=1"]))
    if params and rng.random() < 0.08:  # a repeat: 400, whatever the values
        params.append(rng.choice(params))
    if rng.random() < 0.05:
        params.append(rng.choice(["w=", "h=", "q=", "fit=", "format="]))  # empty: absent
    rng.shuffle(params)
    return "&".join(params)


def canonical_path(rng: random.Random) -> str:
    """A hand-written canonical URI: an attempt to mint a variant past the edge's snapping."""
    names = [n for n in ("w", "h", "fit", "q", "f") if rng.random() < 0.6] or ["f"]
    if rng.random() < 0.1:
        rng.shuffle(names)
    ops = ",".join(f"{n}={rng.choice(OPS_VALUES[n])}" for n in names)
    return f"/{KEY}/{ops}"


def requests_for(seed: int, count: int) -> list[tuple[str, dict[str, str]]]:
    """(path with query, headers) for each combination."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        path = canonical_path(rng) if rng.random() < 0.1 else f"/{KEY}?{public_query(rng)}"
        headers = {}
        accept = rng.choice(ACCEPTS)
        if accept is not None:
            headers["Accept"] = accept
        if rng.random() < 0.05:
            headers["If-None-Match"] = rng.choice(['"x"', "*", 'W/"y"'])
        out.append((path, headers))
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`image-origin serve` on a free port over a 64×64 JPEG original."""
    root = tmp_path_factory.mktemp("bill")
    originals, derived = root / "originals", root / "derived"
    originals.mkdir()
    buf = io.BytesIO()
    Image.radial_gradient("L").resize((64, 64)).convert("RGB").save(buf, "JPEG", quality=90)
    (originals / KEY).write_bytes(buf.getvalue())
    log = root / "serve.log"  # a file, not a pipe: one log line per request would fill a pipe
    with log.open("w") as out:
        command = [*CLI, "serve", "--originals", str(originals), "--derived", str(derived)]
        proc = subprocess.Popen(
            [*command, "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"serving on (http://[^/]+)/", log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        yield match.group(1), derived
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "Traceback" not in log.read_text()


def test_random_combinations_stay_within_the_variant_budget(served) -> None:
    base, derived = served
    budget = int(
        subprocess.run(
            [*CLI, "policy", "--count"], capture_output=True, text=True, check=True
        ).stdout
    )
    host, port = base.removeprefix("http://").split(":")

    def fetch(item: tuple[str, dict[str, str]]) -> tuple[str, int, str, bytes]:
        # http.client, not requests: a fraction of the client CPU, and the raw path is sent
        # exactly as written. One connection per request: on a kept-alive one, each answer
        # waits ~40 ms for a delayed ACK (the server writes headers and body apart).
        path, headers = item
        conn = HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request("GET", path, headers={**headers, "Connection": "close"})
            r = conn.getresponse()
            return path, r.status, r.getheader("Content-Type", ""), r.read()
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(fetch, requests_for(2026, COMBINATIONS), chunksize=50))

    statuses = Counter(status for _, status, _, _ in answers)
    for path, status, content_type, body in answers:
        assert status < 500, (path, status, body[:200])
        if status >= 400:
            assert status < 500
            assert content_type.startswith("text/plain"), (path, status, content_type)
            text = body.decode("utf-8")
            assert text.strip() and "\n" not in text.strip(), (path, text)
        else:
            assert status in (200, 304), (path, status)
    # Both kinds of answer happened, plenty of each (not a test of only errors or only hits).
    assert statuses[200] > 3000 and sum(n for s, n in statuses.items() if s >= 400) > 1000, statuses

    stored = (
        [p for p in (derived / KEY).iterdir() if p.is_file()] if (derived / KEY).exists() else []
    )
    info = [p for p in stored if p.name == "f=info"]
    variants = [p for p in stored if p.name != "f=info"]
    assert len(info) <= 1
    assert 0 < len(variants) <= budget, (len(variants), budget)
    # Nothing outside the original's own prefix either (no key but bill.jpg was asked for).
    assert {p.name for p in derived.iterdir()} == {KEY}
