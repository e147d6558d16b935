"""The events function's inputs, read once into small typed objects: SQS messages, S3 records.

An SQS message's body is an S3 event notification, an SNS envelope around one (S3 → SNS →
SQS), or S3's ``s3:TestEvent``; S3 can also invoke the function directly with its records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from .jobs import is_job

TEST_EVENT = "s3:TestEvent"


class RecordError(ValueError):
    """A record or body that is not what S3, SNS or SQS send."""


@dataclass(frozen=True)
class S3Record:
    """One S3 event notification record: which event, which bucket, which (decoded) key."""

    event_name: str
    bucket: str
    key: str

    @property
    def created(self) -> bool:
        """An upload or overwrite (``ObjectCreated:*``)."""
        return self.event_name.startswith("ObjectCreated:")

    @property
    def removed(self) -> bool:
        """A delete (``ObjectRemoved:*``)."""
        return self.event_name.startswith("ObjectRemoved:")

    @classmethod
    def from_dict(cls, record: Any) -> S3Record:
        """Read one record; RecordError when a field is missing or of the wrong type."""
        try:
            name = record["eventName"]
            bucket = record["s3"]["bucket"]["name"]
            raw_key = record["s3"]["object"]["key"]
        except (KeyError, TypeError):
            raise RecordError("not an S3 event record") from None
        if not all(isinstance(v, str) for v in (name, bucket, raw_key)):
            raise RecordError("not an S3 event record")
        # S3 URL-encodes keys in events, with "+" for spaces ("red flower.jpg" → "red+flower.jpg").
        return cls(name, bucket, unquote_plus(raw_key))


@dataclass(frozen=True)
class SqsMessage:
    """One SQS message as the event source mapping delivers it."""

    message_id: str
    body: str
    receive_count: int

    @property
    def redelivered(self) -> bool:
        """True when an earlier delivery of this message was not acknowledged."""
        return self.receive_count > 1

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> SqsMessage:
        """Read one ``aws:sqs`` record (attributes default as for a first delivery)."""
        attributes = record.get("attributes") or {}
        return cls(
            message_id=str(record.get("messageId") or ""),
            body=str(record.get("body") or ""),
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
        )


@dataclass(frozen=True)
class Notification:
    """An SQS body decoded: S3 records, or a test event (``test_bucket`` set, no records)."""

    records: list[Any]
    test_bucket: str | None = None
    job: dict[str, Any] | None = None  # a warm job (jobs.py) instead of S3 records

    @property
    def is_test(self) -> bool:
        """S3's ``s3:TestEvent``, sent once when a notification is configured."""
        return self.test_bucket is not None

    @classmethod
    def from_body(cls, body: str) -> Notification:
        """Decode a message body; RecordError for one nobody can read.

        Records stay raw here: one malformed record must fail alone, not its whole message.
        """
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("Type") == "Notification":
                data = json.loads(data.get("Message") or "")  # S3 → SNS → SQS
        except ValueError as exc:
            raise RecordError(f"unreadable body: {exc}") from None
        if not isinstance(data, dict):
            raise RecordError("unreadable body: body is not a JSON object")
        if data.get("Event") == TEST_EVENT:
            return cls([], str(data.get("Bucket") or ""))
        if is_job(data):
            return cls([], job=data)
        records = data.get("Records")
        if not isinstance(records, list):
            raise RecordError("no Records in body")
        return cls(records)
