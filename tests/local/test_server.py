"""The local endpoint end to end over real HTTP with requests."""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from origin_handler.local.edge import Edge
from origin_handler.local.server import make_server
from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import LocalStore
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import SAMPLES, free_port

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    originals = tmp_path / "originals"
    (originals / "sub dir").mkdir(parents=True)
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", originals / "portrait.jpg")
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", originals / "sub dir" / "üñï+.jpg")
    (originals / "page.jpg").write_text("<html>not an image</html>")
    store = LocalStore(originals, tmp_path / "derived")
    edge = Edge(Origin(Settings(), store, load_policy()))
    server = make_server(edge, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "derived"
    server.shutdown()
    server.server_close()


def test_negotiates_caches_and_stores(endpoint):
    base, derived = endpoint
    first = requests.get(f"{base}/portrait.jpg?w=600&q=70", headers={"Accept": CHROME}, timeout=30)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "image/avif"
    assert first.headers["X-Cache"].startswith("Miss")
    assert first.headers["Vary"] == "Accept"
    assert Image.open(io.BytesIO(first.content)).size == (640, 960)
    assert (derived / "portrait.jpg" / "w=640,q=75,f=auto-avif").is_file()  # 70 → nearest 75

    # A different public URL that normalizes to the same variant is an edge hit.
    again = requests.get(f"{base}/portrait.jpg?q=66&w=640&utm=x", headers={"Accept": CHROME})
    assert again.headers["X-Cache"].startswith("Hit") and again.content == first.content

    webp = requests.get(f"{base}/portrait.jpg?w=600&q=70", headers={"Accept": "image/webp"})
    assert webp.headers["Content-Type"] == "image/webp"
    curl = requests.get(f"{base}/portrait.jpg?w=600&q=70", headers={"Accept": "*/*"})
    assert curl.headers["Content-Type"] == "image/jpeg"


def test_conditional_get_and_head(endpoint):
    base, _ = endpoint
    url = f"{base}/portrait.jpg?w=256&format=webp"
    first = requests.get(url, timeout=30)
    assert "Vary" not in first.headers
    not_modified = requests.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    head = requests.head(url)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(first.content))


def test_unicode_and_space_keys(endpoint):
    base, derived = endpoint
    response = requests.get(f"{base}/sub%20dir/%C3%BC%C3%B1%C3%AF%2B.jpg?w=100&format=png")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (128, 192)
    # stored under the ~XX-escaped canonical URI, as the derived bucket is (variants.escape_key)
    assert (derived / "sub~20dir" / "~C3~BC~C3~B1~C3~AF~2B.jpg" / "w=128,q=75,f=png").is_file()


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/portrait.jpg?w=abc", 400, "400 invalid w: expected a whole number from 1\n"),
        ("/missing.jpg?w=640", 404, "404 no such original\n"),
        ("/page.jpg?w=640", 415, "415 not an allowed image format (jpeg, png, gif, webp, avif)\n"),
        ("/a/%2e%2e/portrait.jpg", 400, "400 dot segment in key\n"),
        ("/portrait.jpg/w=641,q=75,f=webp", 400, "400 not a canonical variant\n"),
    ],
)
def test_errors_are_short_plain_text(endpoint, path, status, text):
    base, _ = endpoint
    response = requests.get(base + path, timeout=30)
    assert response.status_code == status
    assert response.text == text
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_demo_page_lists_every_original_as_srcset(endpoint):
    base, _ = endpoint
    page = requests.get(base + "/").text
    assert page.count("<img ") == 2  # page.jpg is not an image and is left out
    assert 'srcset="/portrait.jpg?w=256&amp;q=75 256w' in page
    assert "/sub%20dir/%C3%BC%C3%B1%C3%AF%2B.jpg?w=640" in page


def test_edge_invalidation_endpoint(endpoint):
    base, _ = endpoint
    url = f"{base}/portrait.jpg?w=64&format=png"
    requests.get(url)
    assert requests.get(url).headers["X-Cache"].startswith("Hit")
    done = requests.post(f"{base}/__edge/invalidate", json={"paths": ["/portrait.jpg/*"]})
    assert done.json() == {"invalidated": 1}
    assert requests.get(url).headers["X-Cache"].startswith("Miss")


def test_serve_from_s3_over_moto_server(aws_env, moto_server, tmp_path):
    """`image-origin serve --s3-bucket … --endpoint-url …` against a real moto_server."""
    import subprocess
    import sys
    import time

    import boto3

    client = boto3.client("s3", endpoint_url=moto_server, region_name="eu-west-1")
    for bucket in ("serve-originals", "serve-derived"):
        if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
    data = (SAMPLES / "portrait-orientation-6.jpg").read_bytes()
    client.put_object(Bucket="serve-originals", Key="p/portrait.jpg", Body=data)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "origin_handler.cli",
            "serve",
            "--s3-bucket",
            "serve-originals",
            "--derived-bucket",
            "serve-derived",
            "--endpoint-url",
            moto_server,
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/p/portrait.jpg?w=300&format=webp"
        for _ in range(100):
            try:
                response = requests.get(url, timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).size == (384, 576)
        stored = client.get_object(Bucket="serve-derived", Key="p/portrait.jpg/w=384,q=75,f=webp")
        assert stored["ContentType"] == "image/webp"
        assert stored["CacheControl"] == "public, max-age=86400, s-maxage=31536000"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_busy_port_is_a_one_line_error_not_a_traceback(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "origin_handler.cli",
                "serve",
                "--originals",
                str(SAMPLES),
                "--derived",
                str(tmp_path),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert "cannot listen on 127.0.0.1" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--s3-bucket", "originals"], {}, "serve --s3-bucket needs --derived-bucket"),
        ([], {}, "serve needs --originals DIR or --s3-bucket NAME"),
        (["--originals", "."], {"MAX_FRAMES": "many"}, "MAX_FRAMES must be a whole number"),
    ],
)
def test_serve_usage_errors_exit_2_with_one_line(args, env, message):
    import os
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "origin_handler.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_invalidation_endpoint_rejects_bad_lengths(endpoint):
    import http.client
    from urllib.parse import urlsplit

    base, _ = endpoint
    host = urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.putrequest("POST", "/__edge/invalidate")
    conn.putheader("Content-Length", "lots")
    conn.endheaders()
    assert conn.getresponse().status == 400
    conn.close()


def _raw(base: str, method: str, target: str):
    """One request with http.client, which sends any method and any request-line length."""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.request(method, target)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def _assert_plain_line(response, body: bytes, status: int) -> None:
    assert response.status == status
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert response.getheader("Cache-Control") == "no-store"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert body.startswith(f"{status} ".encode()) and body.count(b"\n") == 1
    assert body.endswith(b"\n") and b"<" not in body


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "POST", "BREW"])
def test_other_methods_are_a_plain_405_with_allow(endpoint, method, caplog):
    base, _ = endpoint
    with caplog.at_level("INFO", logger="image_origin"):
        response, body = _raw(base, method, "/portrait.jpg?w=640")
    _assert_plain_line(response, body, 405)
    assert body == b"405 method not allowed\n"
    assert response.getheader("Allow") == "GET, HEAD, OPTIONS"
    logged = [r.getMessage() for r in caplog.records if '"status":405' in r.getMessage()]
    assert len(logged) == 1 and '"source":"server"' in logged[0]


def test_a_preflight_gets_204_with_the_cors_headers_and_fetch_then_reads_the_image(endpoint):
    import http.client
    from urllib.parse import urlsplit

    base, _ = endpoint
    host = urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.request(
        "OPTIONS",
        "/portrait.jpg?w=640",
        headers={
            "Origin": "https://www.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-trace",
        },
    )
    preflight = conn.getresponse()
    assert (preflight.status, preflight.read()) == (204, b"")
    assert preflight.getheader("Allow") == "GET, HEAD, OPTIONS"
    assert preflight.getheader("Access-Control-Allow-Origin") == "*"
    assert "GET" in preflight.getheader("Access-Control-Allow-Methods")
    assert preflight.getheader("Access-Control-Allow-Headers") == "*"
    conn.request("GET", "/portrait.jpg?w=640", headers={"Origin": "https://www.example.com"})
    image = conn.getresponse()
    assert image.status == 200 and image.read()[:2] == b"\xff\xd8"
    assert image.getheader("Access-Control-Allow-Origin") == "*"
    conn.request("GET", "/portrait.jpg?w=640")  # not a CORS request: no CORS headers
    plain = conn.getresponse()
    plain.read()
    assert plain.getheader("Access-Control-Allow-Origin") is None
    conn.close()


def test_too_long_query_is_a_plain_414(endpoint):
    base, _ = endpoint
    response, body = _raw(base, "GET", "/portrait.jpg?w=640&x=" + "a" * 100_000)
    _assert_plain_line(response, body, 414)
    assert b"<html" not in body.lower()


def test_bad_request_line_is_a_plain_400(endpoint):
    import socket
    from urllib.parse import urlsplit

    host = urlsplit(endpoint[0])
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(b"GET /portrait.jpg extra HTTP/1.1\r\n\r\n")  # four words
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert body == b"400 bad request\n"


def test_over_long_key_segment_is_not_a_storage_fault(endpoint):
    base, _ = endpoint
    response = requests.get(f"{base}/{'a' * 300}.jpg?w=640", timeout=30)
    assert response.status_code == 404
    assert response.text == "404 no such original\n"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
