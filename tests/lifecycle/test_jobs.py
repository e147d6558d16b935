"""Warm jobs: the message schema, SendMessageBatch limits, and sending to moto_server's SQS."""

from __future__ import annotations

import json

import boto3
import pytest

from origin_handler.errors import BadRequest
from origin_handler.lifecycle.jobs import (
    MAX_BATCH_BYTES,
    JobError,
    WarmJob,
    batches,
    is_job,
    parse_job,
    send_jobs,
)
from origin_handler.lifecycle.warm import parse_formats, warm_variants
from origin_handler.policy import load_policy

POLICY = load_policy()


def job(key: str = "photos/cat.jpg", widths=(640, 1080)) -> WarmJob:
    variants = warm_variants(key, widths, parse_formats(["auto"]), 75, POLICY)
    return WarmJob.for_variants(key, variants)


@pytest.fixture
def sqs(moto_server, aws_env):
    client = boto3.client("sqs", endpoint_url=moto_server)
    url = client.create_queue(QueueName=f"warm-{id(client)}")["QueueUrl"]
    return client, url


def receive_all(client, url: str) -> list[str]:
    bodies = []
    while True:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            return bodies
        bodies += [m["Body"] for m in messages]
        client.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def test_a_job_round_trips_and_its_variants_are_the_warm_variants():
    original = job("dir/red flöwer+1 (2).jpg")
    payload = json.loads(original.body())
    assert is_job(payload)
    again = parse_job(payload)
    assert again == original
    expected = warm_variants(
        "dir/red flöwer+1 (2).jpg", (640, 1080), parse_formats(["auto"]), 75, POLICY
    )
    assert again.variants(POLICY) == expected
    assert len(expected) == 6  # two widths × auto-avif, auto-webp, auto-orig


def test_an_s3_notification_is_not_a_job():
    notification = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}
    assert not is_job(notification)
    assert not is_job({"Service": "Amazon S3", "Event": "s3:TestEvent"})
    assert not is_job(["type"])


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "image-origin/warm", "version": 2, "key": "a.jpg", "ops": ["x"]}, "version 2"),
        ({"type": "image-origin/warm", "version": 1, "ops": ["x"]}, "without a key"),
        ({"type": "image-origin/warm", "version": 1, "key": "a.jpg", "ops": []}, "list of ops"),
        ({"type": "image-origin/warm", "version": 1, "key": "a.jpg", "ops": [3]}, "list of ops"),
    ],
)
def test_malformed_jobs_say_what_is_wrong(payload, message):
    with pytest.raises(JobError, match=message):
        parse_job(payload)


def test_variants_outside_the_policy_are_refused_like_a_canonical_uri():
    for ops in ("w=641,q=75,f=auto-webp", "w=640,q=75,f=gif", "w=640,q=75,f=webp,w=640"):
        with pytest.raises(BadRequest):
            WarmJob("photos/cat.jpg", (ops,)).variants(POLICY)
    with pytest.raises(BadRequest):
        WarmJob("a//b.jpg", ("w=640,q=75,f=auto-webp",)).variants(POLICY)


def test_batches_hold_at_most_ten_entries():
    jobs = [job(f"p/{i}.jpg") for i in range(25)]
    groups = list(batches(jobs))
    assert [len(g) for g in groups] == [10, 10, 5]
    assert [i for g in groups for i, _ in g] == list(range(25))


def test_batches_hold_at_most_256_kib_of_bodies():
    # ~90 KB of ops each: two fit one call, three do not.
    big = [WarmJob(f"p/{i}.jpg", ("w=640,q=75,f=auto-webp",) * 3800) for i in range(5)]
    sizes = [len(b.body().encode()) for b in big]
    assert 80_000 < sizes[0] < MAX_BATCH_BYTES // 2
    groups = list(batches(big))
    assert [len(g) for g in groups] == [2, 2, 1]
    for group in groups:
        assert sum(len(j.body().encode()) for _, j in group) <= MAX_BATCH_BYTES


def test_a_job_larger_than_sqs_allows_is_refused_before_sending():
    huge = WarmJob("p/x.jpg", ("w=640,q=75,f=auto-webp",) * 12000)
    with pytest.raises(BadRequest, match="256 KiB"):
        list(batches([huge]))


def test_send_jobs_delivers_every_job_in_batches(sqs):
    client, url = sqs
    jobs = [job(f"p/{i}.jpg") for i in range(23)]
    seen: list[tuple[int, int]] = []
    report = send_jobs(client, url, jobs, progress=lambda done, total: seen.append((done, total)))
    assert report.ok and report.sent == 23 and report.calls == 3
    assert seen == [(10, 23), (20, 23), (23, 23)]
    received = sorted((parse_job(json.loads(b)) for b in receive_all(client, url)), key=repr)
    assert received == sorted(jobs, key=repr)


def test_a_refused_call_fails_each_of_its_entries_with_the_sqs_code(sqs):
    client, url = sqs
    report = send_jobs(client, url + "-missing", [job("a.jpg"), job("b.jpg")])
    assert not report.ok and report.sent == 0
    assert [k for k, _, _ in report.failed] == ["a.jpg", "b.jpg"]
    assert {code for _, code, _ in report.failed} == {"AWS.SimpleQueueService.NonExistentQueue"}
