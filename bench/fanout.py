"""Warm fan-out throughput: jobs on moto_server's SQS drained by N local `image-origin worker`s.

Real SendMessageBatch / ReceiveMessage / DeleteMessageBatch over loopback HTTP, the events
handler in each worker process; variants per hour for N = 1 and 2 on this machine, then the
same arithmetic on paper for a Lambda concurrency of 100 and 1,000.

    .venv/bin/python bench/fanout.py            # or as part of `make bench`
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMAGES = ROOT / "examples" / "images"
COPIES = 2  # each bundled photo under this many keys: 12 originals
WIDTHS = (640, 1080)
FORMATS = ("auto-webp", "auto-avif")
# Lambda x86_64 at 1769 MB: $0.0000166667 per GB-s, $0.20 per million requests; one S3 PUT
# ($0.005 per 1,000) and two GETs ($0.0004 per 1,000) per variant (docs/cost.md).
GB = 1769 / 1024
PRICE_GB_S = 0.0000166667


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(workers: int, endpoint: str) -> tuple[int, float]:
    """(variants stored, seconds) for one warm of the samples drained by ``workers``."""
    import boto3

    from origin_handler.lifecycle.jobs import WarmJob, send_jobs
    from origin_handler.lifecycle.warm import parse_formats, warm_variants
    from origin_handler.policy import load_policy

    tag = uuid.uuid4().hex[:8]
    originals, derived = f"fan-o-{tag}", f"fan-d-{tag}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    for bucket in (originals, derived):
        s3.create_bucket(Bucket=bucket)
    policy = load_policy()
    jobs = []
    for path in sorted(IMAGES.glob("*.jpg")) + sorted(IMAGES.glob("*.png")):
        body = path.read_bytes()
        for copy in range(COPIES):
            key = f"c{copy}/{path.name}"
            s3.put_object(Bucket=originals, Key=key, Body=body)
            variants = warm_variants(key, WIDTHS, parse_formats(FORMATS), 75, policy)
            jobs.append(WarmJob.for_variants(key, variants))
    expected = sum(len(j.ops) for j in jobs)
    queue = sqs.create_queue(QueueName=f"fan-{tag}", Attributes={"VisibilityTimeout": "300"})[
        "QueueUrl"
    ]
    assert send_jobs(sqs, queue, jobs).ok
    env = {
        **os.environ,
        "ORIGINALS_BUCKET": originals,
        "DERIVED_BUCKET": derived,
        "S3_ENDPOINT_URL": endpoint,
    }
    command = [sys.executable, "-m", "origin_handler.cli", "worker", "--queue-url", queue]
    command += ["--endpoint-url", endpoint, "--idle-exit", "3"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(workers)
    ]
    outputs = [""] * workers
    readers = [
        threading.Thread(target=lambda i=i: outputs.__setitem__(i, procs[i].stdout.read()))
        for i in range(workers)
    ]
    for reader in readers:
        reader.start()
    stored = 0
    # Until every variant is stored; the workers stop by themselves once the queue is idle.
    while stored < expected and any(p.poll() is None for p in procs):
        time.sleep(0.25)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=derived)
        stored = sum(len(p.get("Contents", [])) for p in pages)
    elapsed = time.perf_counter() - started
    for proc, reader in zip(procs, readers, strict=True):
        proc.wait(timeout=120)
        reader.join()
    if stored < expected:
        raise RuntimeError(f"stored {stored} of {expected} variants:\n" + "".join(outputs)[-3000:])
    return stored, elapsed


def main() -> list[str]:
    """Run N = 1 and 2 and return the report lines."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    lines = []
    rates = {}
    try:
        for n in (1, 2):
            stored, seconds = run(n, f"http://127.0.0.1:{port}")
            rates[n] = stored / seconds
            lines.append(
                f"fan-out, {n} local worker{'s' if n > 1 else ''} (moto SQS + S3 on loopback):"
                f" {stored} variants in {seconds:.1f} s = {rates[n] * 3600:,.0f} variants/hour"
                f" ({stored / seconds:.2f}/s)"
            )
    finally:
        server.stop()
    per_function = rates[1]
    lines.append(
        f"fan-out scaling 1 → 2 workers on {os.cpu_count()} cores: {rates[2] / rates[1]:.2f}×"
    )
    seconds_per_variant = 1 / per_function
    cost = (seconds_per_variant * GB * PRICE_GB_S + 0.005 / 1000 + 2 * 0.0004 / 1000) * 1e6
    for concurrency in (100, 1000):
        lines.append(
            f"on paper, Lambda concurrency {concurrency}: {concurrency} × {per_function:.2f}"
            f" variants/s = {concurrency * per_function * 3600:,.0f} variants/hour; about"
            f" ${cost:.2f} per million variants (duration at {seconds_per_variant:.2f} s each"
            " on one 1769 MB vCPU, one PUT and two GETs; SQS and Lambda requests are"
            " per job, not per variant)"
        )
    return lines


if __name__ == "__main__":
    for line in main():
        print(line, flush=True)
