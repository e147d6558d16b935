"""Storage calls keep to the invocation's budget: S3 behind a stalling proxy over moto_server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from origin_handler.origin import lambda_function
from tests.conftest import FIXTURES, SAMPLES, reset_buckets
from tests.stall_proxy import StallingProxy

ORIGINALS, DERIVED = "budget-originals", "budget-derived"
KEY = "portrait-orientation-6.jpg"
LAMBDA_TIMEOUT_MS = 10_000  # the invocation's whole budget in these tests


class LambdaContext:
    """The part of Lambda's context object the handler uses: a clock running down."""

    def __init__(self, timeout_ms: int) -> None:
        self.ends = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends - time.monotonic()) * 1000))


def event(raw_path: str) -> dict[str, Any]:
    e = json.loads((FIXTURES / "function_url_event.json").read_text())
    e["rawPath"] = e["requestContext"]["http"]["path"] = raw_path
    return e


@pytest.fixture
def buckets(aws_env, moto_server) -> str:
    client = boto3.client("s3", endpoint_url=moto_server, region_name="eu-west-1")
    reset_buckets(client, ORIGINALS, DERIVED)
    client.put_object(Bucket=ORIGINALS, Key=KEY, Body=(SAMPLES / KEY).read_bytes())
    return moto_server


def cold_start(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """The origin Lambda's environment, pointed at the proxy; the next call is a cold start."""
    monkeypatch.setenv("ORIGINALS_BUCKET", ORIGINALS)
    monkeypatch.setenv("DERIVED_BUCKET", DERIVED)
    monkeypatch.setenv("S3_ENDPOINT_URL", endpoint)
    for name in ("ORIGINALS_DIR", "DERIVED_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lambda_function, "_origin", None)


@pytest.fixture
def proxy(buckets: str) -> Iterator[StallingProxy]:
    stalling = StallingProxy(buckets)
    yield stalling
    stalling.close()


def test_stalled_s3_is_a_503_before_the_invocation_times_out(monkeypatch, proxy):
    """Every S3 call stalls: the answer is our 503 while the invocation still has time."""
    cold_start(monkeypatch, proxy.url)
    context = LambdaContext(LAMBDA_TIMEOUT_MS)
    started = time.monotonic()

    response = lambda_function.lambda_handler(event(f"/{KEY}/w=640,q=75,f=webp"), context)

    elapsed = time.monotonic() - started
    assert response["statusCode"] == 503
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert response["body"].startswith("503 ") and response["body"].count("\n") == 1
    # Lambda would have killed the invocation at LAMBDA_TIMEOUT_MS (and CloudFront shown its
    # own error page); before the fix this took 30 s and more.
    assert elapsed < LAMBDA_TIMEOUT_MS / 1000, f"answered after {elapsed:.1f} s"
    assert context.get_remaining_time_in_millis() > 0
    assert proxy.stalled  # the calls did reach the (stalling) endpoint


def test_stalled_derived_reads_fail_fast_and_the_original_is_rendered(monkeypatch, buckets):
    """Only the derived bucket stalls: the image is still answered, well inside the budget."""
    proxy = StallingProxy(buckets, stall=lambda line: f" /{DERIVED}/" in line)
    try:
        cold_start(monkeypatch, proxy.url)
        started = time.monotonic()
        response = lambda_function.lambda_handler(
            event(f"/{KEY}/w=256,q=75,f=webp"), LambdaContext(LAMBDA_TIMEOUT_MS)
        )
        elapsed = time.monotonic() - started
    finally:
        proxy.close()
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "image/webp"
    assert elapsed < LAMBDA_TIMEOUT_MS / 1000, f"answered after {elapsed:.1f} s"
    assert any(f"/{ORIGINALS}/" in line for line in proxy.forwarded)
    assert any(line.startswith("GET ") for line in proxy.stalled)
