"""Warm at scale: `warm --via-queue` fills moto_server's SQS, two `worker` processes drain it
into the derived bucket; `warm --status` watches; a redelivered job does no work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from origin_handler.lifecycle.jobs import WarmJob, send_jobs
from origin_handler.lifecycle.warm import parse_formats, warm_variants
from origin_handler.policy import load_policy
from tests.lifecycle.support import run_cli
from tests.stall_proxy import StallingProxy

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "examples" / "images"
WIDTHS, FORMATS = (64, 128), ("auto-webp", "auto-orig")
POLICY = load_policy()


@pytest.fixture
def fleet(aws_env, moto_server, monkeypatch):
    """Fresh buckets (the samples uploaded as originals) and an events queue with a DLQ."""
    run = uuid.uuid4().hex[:8]
    originals, derived = f"originals-{run}", f"derived-{run}"
    s3 = boto3.client("s3", endpoint_url=moto_server)
    sqs = boto3.client("sqs", endpoint_url=moto_server)
    for bucket in (originals, derived):
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    for path in sorted(IMAGES.iterdir()):
        s3.put_object(Bucket=originals, Key=f"samples/{path.name}", Body=path.read_bytes())
    dlq = sqs.create_queue(QueueName=f"dlq-{run}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    queue = sqs.create_queue(
        QueueName=f"events-{run}",
        Attributes={"VisibilityTimeout": "60", "RedrivePolicy": redrive},
    )["QueueUrl"]
    env = {"ORIGINALS_BUCKET": originals, "DERIVED_BUCKET": derived, "S3_ENDPOINT_URL": moto_server}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("ORIGINALS_DIR", "DERIVED_DIR", "WARM_WIDTHS", "WARM_FORMATS", "DISTRIBUTION_ID"):
        monkeypatch.delenv(name, raising=False)
    return {"s3": s3, "sqs": sqs, "queue": queue, "dlq": dlq, "derived": derived, "env": env}


def workers(n: int, queue: str, endpoint: str, idle: float = 4.0) -> list[str]:
    """Run n `image-origin worker` processes until the queue has been idle; their output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "origin_handler.cli",
                "worker",
                "--queue-url",
                queue,
                "--endpoint-url",
                endpoint,
                "--idle-exit",
                str(idle),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    out = []
    for proc in procs:
        log, err = proc.communicate(timeout=300)  # JSON log lines on stdout, as on Lambda
        assert proc.returncode == 0, err[-3000:]
        out.append(log + err)
    return out


def derived_keys(s3, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def expected_keys() -> set[str]:
    images = [p.name for p in IMAGES.iterdir() if p.suffix.lower() in (".jpg", ".png")]
    formats = parse_formats(FORMATS)
    return {
        v.derived_key
        for name in images
        for v in warm_variants(f"samples/{name}", WIDTHS, formats, 75, POLICY)
    }


def warm(*extra: str) -> int:
    return run_cli(
        "warm",
        ["--all", "--widths", ",".join(map(str, WIDTHS)), "--formats", ",".join(FORMATS), *extra],
    )


def test_a_queue_warm_drained_by_two_workers_leaves_exactly_the_expected_variants(
    fleet, moto_server, capsys
):
    s3, sqs, queue = fleet["s3"], fleet["sqs"], fleet["queue"]
    assert warm("--via-queue", queue, "--dry-run") == 0
    assert "would send 8 warm jobs (32 variants) in 1 calls" in capsys.readouterr().out
    assert warm("--status") == 1  # nothing stored yet
    assert "0 of 32 variants stored" in capsys.readouterr().out

    assert warm("--via-queue", queue, "--endpoint-url", moto_server) == 0
    assert "8 warm jobs (32 variants): 8 sent in 1 calls, 0 failed" in capsys.readouterr().out
    logs = workers(2, queue, moto_server)
    done = sum(
        int(line.split()[1])
        for err in logs
        for line in err.splitlines()
        if line.startswith("worker:")
    )
    assert done == 8  # every job acknowledged, the two text files' included

    # Six images × 2 widths × 2 formats; SOURCES.md and the license text are acknowledged
    # with a log line (415), render nothing and do not go to the dead-letter queue.
    assert derived_keys(s3, fleet["derived"]) == expected_keys()
    assert len(expected_keys()) == 24
    assert "Messages" not in sqs.receive_message(QueueUrl=fleet["dlq"], WaitTimeSeconds=0)
    unrenderable = [
        json.loads(line)
        for err in logs
        for line in err.splitlines()
        if line.startswith("{") and '"ok-unrenderable"' in line
    ]
    assert sorted(line["key"] for line in unrenderable) == [
        "samples/LICENSE-exif-orientation-examples.txt",
        "samples/SOURCES.md",
    ]
    assert warm("--status") == 1  # the text files can never be complete
    out = capsys.readouterr().out
    assert "24 of 32 variants stored" in out and "(6 complete)" in out


def test_a_redelivered_job_makes_no_s3_write(fleet, moto_server):
    s3, sqs, queue = fleet["s3"], fleet["sqs"], fleet["queue"]
    key = "samples/portrait-orientation-6.jpg"
    variants = warm_variants(key, WIDTHS, parse_formats(FORMATS), 75, POLICY)
    job = WarmJob.for_variants(key, variants)
    assert send_jobs(sqs, queue, [job]).ok
    workers(1, queue, moto_server, idle=3)
    stored = {
        k: s3.head_object(Bucket=fleet["derived"], Key=k)["ETag"]
        for k in derived_keys(s3, fleet["derived"])
    }
    assert set(stored) == {v.derived_key for v in variants}

    # The same job again, with every S3 request the worker makes counted by a proxy.
    proxy = StallingProxy(moto_server, stall=lambda line: False)
    try:
        assert send_jobs(sqs, queue, [job]).ok
        env_endpoint = {"S3_ENDPOINT_URL": proxy.url}
        os.environ.update(env_endpoint)
        try:
            (err,) = workers(1, queue, moto_server, idle=3)
        finally:
            os.environ["S3_ENDPOINT_URL"] = moto_server
    finally:
        proxy.close()
    writes = [r for r in proxy.forwarded if r.split(" ", 1)[0] in ("PUT", "POST", "DELETE")]
    assert writes == [] and len(proxy.forwarded) == 1, proxy.forwarded  # one LIST, nothing else
    line = next(json.loads(x) for x in err.splitlines() if x.startswith("{") and "warm-job" in x)
    assert (line["status"], line["warmed"], line["warm_skipped"]) == ("ok", 0, 4)
    after = {k: s3.head_object(Bucket=fleet["derived"], Key=k)["ETag"] for k in stored}
    assert after == stored
