"""`image-origin worker`: drain the events queue here, as the events Lambda would."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from .. import logs
from ..lifecycle.lambda_function import build_processor
from ..settings import Settings, SettingsError
from .common import stderr

# ReceiveMessage takes at most 10 messages and long-polls for at most 20 s.
MAX_MESSAGES = 10
POLL_SECONDS = 2


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin worker`."""
    parser.add_argument("--queue-url", help="events queue (env EVENTS_QUEUE_URL)")
    parser.add_argument("--endpoint-url", help="AWS endpoint for SQS, S3 and CloudFront (moto)")
    parser.add_argument(
        "--idle-exit",
        type=float,
        metavar="SECONDS",
        help="stop after this long without a message (default: run until interrupted)",
    )


def as_lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """ReceiveMessage's messages in the shape the SQS event source mapping hands Lambda."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "",
            }
            for m in messages
        ]
    }


def drain(sqs: Any, queue_url: str, handle: Any, idle_exit: float | None) -> tuple[int, int]:
    """Receive, handle and delete until idle; returns (messages acknowledged, left to retry).

    What ``handle`` reports in ``batchItemFailures`` is not deleted: it comes back after the
    visibility timeout and ends in the dead-letter queue, exactly as with Lambda.
    """
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    acknowledged = retried = 0
    last = time.monotonic()
    while idle_exit is None or time.monotonic() - last < idle_exit:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=MAX_MESSAGES,
            WaitTimeSeconds=POLL_SECONDS,
            AttributeNames=["All"],
        )
        messages = got.get("Messages", [])
        if not messages:
            continue
        last = time.monotonic()
        answer = handle(as_lambda_event(messages, arn))
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
            ]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        acknowledged += len(done)
        retried += len(failed)
        last = time.monotonic()  # idle counts from the end of the work, not its start
    return acknowledged, retried


def run_worker(args: argparse.Namespace) -> int:
    """Run the events handler against a queue; exit 0 on a clean stop, 2 on bad settings."""
    queue_url = args.queue_url or os.environ.get("EVENTS_QUEUE_URL", "")
    if not queue_url:
        stderr("worker: give --queue-url (or EVENTS_QUEUE_URL)")
        return 2
    if args.endpoint_url:
        # boto3's own setting: every client the processor builds (S3, CloudFront) uses it.
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    logs.setup()  # one JSON line per message on stdout, as the events Lambda writes them
    try:
        processor = build_processor(Settings.from_env())
    except SettingsError as exc:
        stderr(f"worker: {exc}")
        return 2
    import boto3

    sqs = boto3.client("sqs")
    try:
        acknowledged, retried = drain(sqs, queue_url, processor.handle, args.idle_exit)
    except KeyboardInterrupt:
        return 0
    stderr(f"worker: {acknowledged} messages done, {retried} left for retry")
    return 0
