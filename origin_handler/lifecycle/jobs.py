"""Warm jobs on the events queue: one original and its variants per SQS message."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadRequest
from ..policy import Policy
from ..variants import Variant, from_canonical, validate_key
from .purge import Progress

JOB_TYPE = "image-origin/warm"
JOB_VERSION = 1
# SendMessageBatch: at most 10 entries and 256 KiB of message bodies per call (SQS quotas).
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


class JobError(ValueError):
    """A message that claims to be a warm job but is malformed (acknowledged, logged)."""


@dataclass(frozen=True)
class WarmJob:
    """Render these canonical variants of one original (those not stored yet)."""

    key: str
    ops: tuple[str, ...]

    @classmethod
    def for_variants(cls, key: str, variants: Iterable[Variant]) -> WarmJob:
        """The job for some variants of one original."""
        return cls(key, tuple(v.ops for v in variants))

    def body(self) -> str:
        """The SQS message body (compact JSON)."""
        return json.dumps(
            {"type": JOB_TYPE, "version": JOB_VERSION, "key": self.key, "ops": list(self.ops)},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def variants(self, policy: Policy) -> list[Variant]:
        """The variants, each checked against the policy as the canonical parser checks a URI."""
        validate_key(self.key, policy)
        found = []
        for ops in self.ops:
            variant = from_canonical(self.key, ops, policy)
            if not isinstance(variant, Variant):
                raise BadRequest(f"{ops} is not an image variant")
            found.append(variant)
        return found


def is_job(payload: Any) -> bool:
    """Whether a decoded message body is a warm job (S3 notifications have no "type")."""
    return isinstance(payload, dict) and payload.get("type") == JOB_TYPE


def parse_job(payload: dict[str, Any]) -> WarmJob:
    """A decoded warm-job body → WarmJob; JobError says what is wrong."""
    if payload.get("version") != JOB_VERSION:
        raise JobError(f"warm job version {payload.get('version')!r}, expected {JOB_VERSION}")
    key, ops = payload.get("key"), payload.get("ops")
    if not isinstance(key, str) or not key:
        raise JobError("warm job without a key")
    if not isinstance(ops, list) or not ops or not all(isinstance(o, str) for o in ops):
        raise JobError("warm job without a list of ops")
    return WarmJob(key, tuple(ops))


def batches(jobs: Sequence[WarmJob]) -> Iterator[list[tuple[int, WarmJob]]]:
    """(index, job) groups that each fit one SendMessageBatch call."""
    batch: list[tuple[int, WarmJob]] = []
    size = 0
    for index, job in enumerate(jobs):
        length = len(job.body().encode())
        if length > MAX_BATCH_BYTES:
            raise BadRequest(f"warm job for {job.key} is {length} bytes, over SQS's 256 KiB")
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((index, job))
        size += length
    if batch:
        yield batch


@dataclass
class SendReport:
    """Jobs the queue accepted, and the ones it refused with SQS's code and reason."""

    sent: int = 0
    calls: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (key, code, message)

    @property
    def ok(self) -> bool:
        """True when every job was accepted."""
        return not self.failed


def send_jobs(
    sqs: Any, queue_url: str, jobs: Sequence[WarmJob], progress: Progress | None = None
) -> SendReport:
    """SendMessageBatch every job; a refused entry or a failed call is reported, not raised."""
    report = SendReport()
    done = 0
    for batch in batches(jobs):
        entries = [{"Id": str(index), "MessageBody": job.body()} for index, job in batch]
        by_id = {str(index): job for index, job in batch}
        report.calls += 1
        try:
            answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:  # the whole call failed: every entry of it did
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            report.failed += [(job.key, str(code), str(exc)) for _, job in batch]
        else:
            report.sent += len(answer.get("Successful", []))
            for entry in answer.get("Failed", []):
                job = by_id[entry["Id"]]
                report.failed.append((job.key, entry.get("Code", ""), entry.get("Message", "")))
        done += len(batch)
        if progress is not None:
            progress(done, len(jobs))
    return report
