"""Originals bucket events → purge stale variants, invalidate CloudFront, optionally warm.

Input: SQS batches whose bodies are S3 event notifications (also an SNS envelope around
one, S3's ``s3:TestEvent``, and plain S3 records when S3 invokes the function directly),
or warm jobs (jobs.py, sent by ``image-origin warm --via-queue``).

* A warm job: render the job's variants of its original that are not stored yet (stored
  ones cost one LIST, no read, no write: a redelivered job does no work). An original that
  is gone or undecodable is acknowledged with a log line; storage errors are retried and
  end in the dead-letter queue; a malformed job goes there at once.

* ``ObjectCreated:*`` (new or overwritten original): purge + invalidate, then render the
  configured variants (WARM_WIDTHS × WARM_FORMATS) when WARM_WIDTHS is set.
* ``ObjectRemoved:*``: purge + invalidate.

Order: nothing is invalidated until every variant found is deleted. The distribution's
origin group reads the derived bucket first, so an invalidation sent while a stale variant
is still stored lets the next viewer re-cache it for a year; a failed delete raises (the
message is retried) before any invalidation is sent.

Only stale variants are purged on ObjectCreated: every variant records the ETag of the
original it was rendered from (``SOURCE_ETAG``), and one that recorded the current
original's ETag (a HEAD of the original) is kept, neither deleted nor invalidated. So a
redelivered ObjectCreated (SQS delivers at least once) finds the variants the first
delivery rendered still current: no delete, no invalidation, and warming skips them — no S3
write and no CloudFront call. ObjectRemoved purges everything.

Idempotent: purging twice finds nothing the second time. The invalidation's CallerReference
is the SQS message id plus a hash of the paths, so the same delivery seen twice does not pay
twice. A retry (ApproximateReceiveCount > 1) invalidates ``/KEY/*`` with the receive
count folded into the CallerReference: an earlier try may have deleted some or all variants
and then failed, and CloudFront answers a repeated CallerReference with the *earlier*
invalidation instead of creating one, so the retry needs a reference of its own. Unless an
earlier try provably got past its invalidation: variants warmed here also record
``SOURCE_PURGED``, the ETag whose purge and invalidation had completed before they were
written; a kept variant with ``SOURCE_PURGED`` = ``SOURCE_ETAG`` = the current ETag is that
proof (a viewer's render records no ``SOURCE_PURGED``, so it proves nothing).

Failures: a message that raised is reported in ``batchItemFailures`` (only that one is
retried, and after maxReceiveCount it lands in the dead-letter queue). An upload the
pipeline refuses (4xx: undecodable, unsupported, too large) is logged and acknowledged —
retrying cannot fix the bytes. Records for another bucket are ignored: a notification
wired to the derived bucket by mistake would otherwise purge everything it writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import logs
from ..errors import BadRequest, OriginError
from ..origin.handler import Origin
from ..origin.storage import ImageStore
from ..policy import Policy
from ..settings import Settings, SettingsError
from ..variants import validate_key, wildcard_path
from .invalidation import (
    DEFAULT_EXACT_MAX,
    CloudFrontInvalidator,
    InvalidationFailed,
    caller_reference,
)
from .jobs import JobError, WarmJob, parse_job
from .purge import purge_key
from .records import TEST_EVENT, Notification, RecordError, S3Record, SqsMessage
from .warm import WarmReport, check_warm_options, parse_formats, warm_keys, warm_listed


@dataclass
class Outcome:
    """What processing one S3 record did; its ``log_fields`` are the record's one log line."""

    record: S3Record | None = None
    job: WarmJob | None = None
    status: str = "ok"
    reason: str | None = None
    error: str | None = None
    found: int | None = None
    deleted: int | None = None
    kept: int | None = None
    paths: list[str] | None = None
    invalidation: str | None = None
    warm: WarmReport | None = None

    def log_fields(self) -> dict[str, Any]:
        """The fields of the log line, only those that apply."""
        fields: dict[str, Any] = {}
        if self.record is not None:
            r = self.record
            fields.update(event=r.event_name, bucket=r.bucket, key=r.key)
        if self.job is not None:
            fields.update(event="warm-job", key=self.job.key, variants=len(self.job.ops))
        optional = {
            "found": self.found,
            "deleted": self.deleted,
            "kept": self.kept,
            "paths": self.paths,
            "invalidation": self.invalidation,
            "reason": self.reason,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        if self.warm is not None:
            fields.update(warmed=len(self.warm.done), warm_skipped=len(self.warm.skipped))
            if self.warm.failed:
                fields["warm_failed"] = {k: f"{s} {r}" for k, (s, r) in self.warm.failed.items()}
        fields["status"] = self.status
        if self.error is not None:
            fields["error"] = self.error
        return fields


# Variant metadata written by warming here: the ETag whose purge + invalidation completed first.
SOURCE_PURGED = "source-purged"


class RetryableError(Exception):
    """The record should be retried (storage or CloudFront trouble)."""


@dataclass
class EventProcessor:
    """Settings, store, policy and CDN client, built once per cold start."""

    settings: Settings
    store: ImageStore
    policy: Policy
    invalidator: CloudFrontInvalidator | None = None
    warm_formats: list[tuple[str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        tokens = self.settings.warm_formats or ("auto",)
        self.warm_formats = self.warm_formats or parse_formats(tokens)
        if self.settings.warm_widths:
            try:
                check_warm_options(
                    self.settings.warm_widths,
                    self.warm_formats,
                    self.policy.quality_default,
                    self.policy,
                )
            except BadRequest as exc:
                raise SettingsError(f"WARM_WIDTHS/WARM_FORMATS: {exc.message}") from None

    @property
    def origin(self) -> Origin:
        """The request path, used to render warm variants exactly as a viewer would get them."""
        return Origin(self.settings, self.store, self.policy)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Process a batch; returns the SQS partial-batch response."""
        failures: list[dict[str, str]] = []
        direct_failures = 0
        for record in event.get("Records") or []:
            if record.get("eventSource") == "aws:sqs":
                message = SqsMessage.from_dict(record)
                if not self.handle_message(message):
                    failures.append({"itemIdentifier": message.message_id})
            elif record.get("eventSource") == "aws:s3":
                ref = record.get("responseElements", {}).get("x-amz-request-id") or "direct"
                if not self._logged(record, {"source": "s3"}, ref, retry=False):
                    direct_failures += 1
            else:
                logs.line(logging.WARNING, event="unknown", status="ignored")
        if direct_failures:
            # Invoked by S3 directly (asynchronously): raising makes Lambda retry the event.
            raise RuntimeError(f"{direct_failures} S3 records failed")
        return {"batchItemFailures": failures}

    def handle_message(self, message: SqsMessage) -> bool:
        """One SQS message; False when it must be retried."""
        retry = message.redelivered
        # A retry's invalidation must not be deduplicated into an earlier try's.
        ref = f"{message.message_id}-r{message.receive_count}" if retry else message.message_id
        base = {"source": "sqs", "message_id": message.message_id}
        try:
            notification = Notification.from_body(message.body)
        except RecordError as exc:
            # A body nobody can read goes to the dead-letter queue for a human to look at.
            logs.line(logging.ERROR, **base, status="failed", error=str(exc))
            return False
        if notification.is_test:
            bucket = notification.test_bucket
            logs.line(logging.INFO, **base, event=TEST_EVENT, bucket=bucket, status="ignored")
            return True
        if notification.job is not None:
            return self._job_logged(notification.job, base)
        ok = True
        for raw in notification.records:
            ok = self._logged(raw, base, ref, retry) and ok
        return ok

    def _logged(self, raw: Any, base: dict[str, Any], ref: str, retry: bool) -> bool:
        """Process one S3 record and write its one log line; False when it must be retried."""
        outcome = Outcome()

        def work() -> None:
            outcome.record = S3Record.from_dict(raw)
            self.process(outcome.record, outcome, ref, retry)

        return self._run_logged(work, outcome, base)

    def _job_logged(self, payload: dict[str, Any], base: dict[str, Any]) -> bool:
        """Run one warm job and write its one log line; False when it must be retried."""
        outcome = Outcome()

        def work() -> None:
            outcome.job = parse_job(payload)  # JobError: nobody can run it, to the DLQ
            self.warm_job(outcome.job, outcome)

        return self._run_logged(work, outcome, base)

    def _run_logged(self, work: Callable[[], None], outcome: Outcome, base: dict[str, Any]) -> bool:
        """Run one record's or job's work, then its one log line; False when it must be retried.

        Only that message fails: a malformed record or job, storage or CloudFront trouble,
        or a bug is retried and after maxReceiveCount lands in the dead-letter queue.
        """
        started = time.perf_counter()
        ok = True
        try:
            work()
        except (RetryableError, RecordError, JobError) as exc:
            ok = False
            outcome.status, outcome.error = "failed", str(exc)
        except Exception as exc:  # a bug: logged with its traceback, the message retried
            ok = False
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
            logs.logger.exception("unexpected error")
        ms = round((time.perf_counter() - started) * 1000, 1)
        logs.line(logging.INFO if ok else logging.ERROR, **base, **outcome.log_fields(), ms=ms)
        return ok

    def warm_job(self, job: WarmJob, outcome: Outcome) -> None:
        """Render the job's variants that are missing; RetryableError on storage trouble."""
        try:
            variants = job.variants(self.policy)
        except BadRequest as exc:
            # A key or variant this policy refuses (it changed since the job was sent): no
            # URL reaches it, so there is nothing worth rendering.
            outcome.status, outcome.reason = "ignored", exc.message
            return
        report = warm_listed(self.origin, job.key, variants)
        outcome.warm = report
        if report.retriable:
            raise RetryableError("warm failed (storage); will retry")
        statuses = {status for status, _ in report.failed.values()}
        if statuses == {404}:
            outcome.status, outcome.reason = "ok-gone", "original not found"
        elif report.failed:
            outcome.status = "ok-unrenderable"  # the original's bytes: retrying cannot help

    def process(self, record: S3Record, outcome: Outcome, ref: str, retry: bool) -> None:
        """Purge + invalidate (+ warm on create) for one S3 record, noted in ``outcome``."""
        if not (record.created or record.removed):
            outcome.status = "ignored"
            return
        if self.settings.originals_bucket and record.bucket != self.settings.originals_bucket:
            outcome.status, outcome.reason = "ignored", "not the originals bucket"
            return
        try:
            validate_key(record.key, self.policy)
        except BadRequest as exc:
            # The origin refuses such keys, so no variant of it can exist.
            outcome.status, outcome.reason = "ignored", exc.message
            return
        current = self._current_etag(record.key) if record.created else None
        self._purge(record.key, outcome, ref, retry, current)
        if record.created and self.settings.warm_widths:
            self._warm(record.key, outcome, current)

    def _current_etag(self, key: str) -> str | None:
        """The original's ETag now (None: deleted again since the event, keep nothing)."""
        try:
            return self.store.original_etag(key)
        except OriginError as exc:
            raise RetryableError(f"original check failed: {exc.message}") from None

    def _purge(
        self, key: str, outcome: Outcome, ref: str, retry: bool, current: str | None
    ) -> None:
        purge = purge_key(self.store, key, "auto", DEFAULT_EXACT_MAX, keep_source=current)
        outcome.found, outcome.deleted = len(purge.found), purge.deleted
        outcome.kept = len(purge.kept) if current else None
        if not purge.ok:
            # Before invalidating: with stale variants still stored, an invalidation now would
            # only let viewers re-cache them, and the retry's could not replace it.
            raise RetryableError(purge.error or f"{len(purge.not_deleted)} variants not deleted")
        # A retry cannot know what an earlier try deleted without invalidating: /KEY/* covers
        # it all, under a reference that includes the receive count (see handle_message) —
        # unless a variant an earlier try warmed proves it got past its invalidation.
        purged_before = current is not None and any(
            meta.get(SOURCE_PURGED) == current for meta in purge.kept.values()
        )
        paths = [wildcard_path(key)] if retry and not purged_before else purge.paths
        outcome.paths = paths
        if paths and self.invalidator is not None:
            try:
                reference = caller_reference(ref, paths)
                sub = self.invalidator.submit(paths, reference, patient=False)
            except InvalidationFailed as exc:
                # TooManyInvalidationsInProgress included: SQS redelivers after the visibility
                # timeout, which is the backoff CloudFront asks for.
                raise RetryableError(f"invalidation failed: {exc}") from None
            outcome.invalidation = sub.id
        elif paths:
            outcome.invalidation = "skipped: no DISTRIBUTION_ID"

    def _warm(self, key: str, outcome: Outcome, current: str | None) -> None:
        report = warm_keys(
            self.origin,
            [key],
            self.settings.warm_widths,
            self.warm_formats,
            self.policy.quality_default,
            # One original per record: fetched once, its variants rendered one at a time, so
            # the function never holds more than one decode of an original (up to 100 MP).
            concurrency=1,
            # Written after this ETag's purge and invalidation: what a retry checks for.
            metadata={SOURCE_PURGED: current} if current else None,
        )
        outcome.warm = report
        if report.retriable:
            raise RetryableError("warm failed (storage); will retry")
        if report.failed:
            # The upload itself is bad (4xx): log it, acknowledge it, never retry it.
            outcome.status = "ok-unrenderable"
