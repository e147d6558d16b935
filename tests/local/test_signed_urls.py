"""Signed URLs at the local endpoint: `image-origin serve --policy` with signing required."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from origin_handler.policy import POLICY_PATH
from tests.conftest import SAMPLES, free_port, wait_for_server

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
KEYS = {"k1": "a" * 32 + "-first", "k2": "b" * 32 + "-second"}


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "origin_handler.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A real `image-origin serve` process on a policy with signing required."""
    originals = tmp_path / "originals"
    originals.mkdir()
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", originals / "portrait.jpg")
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({**json.loads(POLICY_PATH.read_text()), "signing": {"mode": "required"}})
    )
    env = {"SIGNING_KEYS": json.dumps(KEYS)}
    port = free_port()
    command = [sys.executable, "-m", "origin_handler.cli", "serve", "--originals", str(originals)]
    command += [
        "--derived",
        str(tmp_path / "derived"),
        "--port",
        str(port),
        "--policy",
        str(policy),
    ]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base)
        yield base, policy, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_required_signature_at_the_local_endpoint(served) -> None:
    base, policy, env = served
    unsigned = requests.get(f"{base}/portrait.jpg?w=600", headers={"Accept": CHROME}, timeout=30)
    assert unsigned.status_code == 403
    assert unsigned.text == "403 missing signature\n"
    assert unsigned.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert unsigned.headers["Cache-Control"] == "private, no-store"

    run = cli("sign", "--key-id", "k2", "--policy", str(policy), "/portrait.jpg?w=600", env=env)
    assert run.returncode == 0, run.stderr
    signed = run.stdout.strip()
    ok = requests.get(base + signed, headers={"Accept": CHROME}, timeout=60)
    assert ok.status_code == 200 and ok.headers["Content-Type"] == "image/avif"
    assert Image.open(io.BytesIO(ok.content)).size == (640, 960)
    # The same signature for the snapped width and for another negotiated format.
    again = requests.get(base + signed.replace("w=600", "w=640"), headers={"Accept": "image/webp"})
    assert again.status_code == 200 and again.headers["Content-Type"] == "image/webp"

    tampered = requests.get(base + signed.replace("w=600", "w=1200"), timeout=30)
    assert (tampered.status_code, tampered.text) == (403, "403 bad signature\n")
    rotated_out = requests.get(base + signed.replace("s=k2.", "s=k0."), timeout=30)
    assert (rotated_out.status_code, rotated_out.text) == (403, "403 unknown signing key\n")
    # A 403 is never cached: the signed request after an unsigned one still renders.
    assert requests.get(base + signed, headers={"Accept": CHROME}).status_code == 200


def test_the_demo_page_signs_its_urls(served) -> None:
    base, _, _ = served
    page = requests.get(base + "/", timeout=60).text
    urls = [u.replace("&amp;", "&") for u in re.findall(r'(/portrait\.jpg\?[^" ]+)', page)]
    assert len(urls) >= 5 and all("&s=k1." in u for u in urls)
    assert 'data-placeholder="data:image/' in page  # its ?info was signed too
    for url in urls[:2]:
        assert requests.get(base + url, headers={"Accept": CHROME}, timeout=60).status_code == 200


def test_sign_cli_usage_errors() -> None:
    keys = {"SIGNING_KEYS": json.dumps(KEYS)}
    assert "choose one with --key-id" in cli("sign", "/a.jpg?w=1", env=keys).stderr
    assert "no key 'k3' in SIGNING_KEYS" in cli("sign", "--key-id", "k3", "/a.jpg", env=keys).stderr
    refused = cli("sign", "--key-id", "k1", "/a.jpg?w=0", env=keys)
    assert refused.returncode == 2 and "the edge would refuse it: invalid w" in refused.stderr
    assert "SIGNING_KEYS is empty" in cli("sign", "/a.jpg", env={"SIGNING_KEYS": ""}).stderr
    short = cli("sign", "/a.jpg", env={"SIGNING_KEYS": '{"k1": "short"}'})
    assert short.returncode == 2 and "at least 32 characters" in short.stderr
    fresh = cli("sign", "--new-secret", env={})
    assert fresh.returncode == 0 and len(fresh.stdout.strip()) == 43


def test_serve_with_signing_and_no_keys_refuses_to_start(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({**json.loads(POLICY_PATH.read_text()), "signing": {"mode": "optional"}})
    )
    run = cli(
        "serve", "--originals", str(SAMPLES), "--policy", str(policy), env={"SIGNING_KEYS": ""}
    )
    assert run.returncode == 2
    assert "the policy has signing optional: set SIGNING_KEYS" in run.stderr
    assert "Traceback" not in run.stderr
