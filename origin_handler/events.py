"""Originals bucket events → purge stale variants, invalidate CloudFront, optionally warm.

Input: SQS batches whose bodies are S3 event notifications (also an SNS envelope around
one, S3's ``s3:TestEvent``, and plain S3 records when S3 invokes the function directly).

* ``ObjectCreated:*`` (new or overwritten original): purge + invalidate, then render the
  configured variants (WARM_WIDTHS × WARM_FORMATS) when WARM_WIDTHS is set.
* ``ObjectRemoved:*``: purge + invalidate.

Order: nothing is invalidated until every variant found is deleted. The distribution's
origin group reads the derived bucket first, so an invalidation sent while a stale variant
is still stored lets the next viewer re-cache it for a year; a failed delete raises (the
message is retried) before any invalidation is sent.

Idempotent: purging twice finds nothing the second time. The invalidation's CallerReference
is the SQS message id plus a hash of the paths, so the same delivery seen twice does not pay
twice. A retry (ApproximateReceiveCount > 1) always invalidates ``/KEY/*`` with the receive
count folded into the CallerReference: an earlier try may have deleted some or all variants
and then failed, and CloudFront answers a repeated CallerReference with the *earlier*
invalidation instead of creating one, so the retry needs a reference of its own.

Failures: a message that raised is reported in ``batchItemFailures`` (only that one is
retried, and after maxReceiveCount it lands in the dead-letter queue). An upload the
pipeline refuses (4xx: undecodable, unsupported, too large) is logged and acknowledged —
retrying cannot fix the bytes. Records for another bucket are ignored: a notification
wired to the derived bucket by mistake would otherwise purge everything it writes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from . import logs
from .errors import BadRequest
from .handler import Origin, build_store
from .invalidation import (
    DEFAULT_EXACT_MAX,
    CloudFrontInvalidator,
    InvalidationFailed,
    caller_reference,
    wildcard_path,
)
from .lifecycle import purge_key
from .policy import Policy, load_policy
from .request import validate_key
from .settings import Settings, SettingsError
from .storage import ImageStore
from .warm import check_warm_options, parse_formats, warm_keys

TEST_EVENT = "s3:TestEvent"


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
                if not self.handle_sqs_record(record):
                    failures.append({"itemIdentifier": record.get("messageId", "")})
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

    def handle_sqs_record(self, record: dict[str, Any]) -> bool:
        """One SQS message; False when it must be retried."""
        message_id = record.get("messageId", "")
        attributes = record.get("attributes") or {}
        receives = int(attributes.get("ApproximateReceiveCount") or 1)
        retry = receives > 1
        # A retry's invalidation must not be deduplicated into an earlier try's.
        ref = f"{message_id}-r{receives}" if retry else message_id
        base = {"source": "sqs", "message_id": message_id}
        try:
            body = json.loads(record.get("body") or "")
            if isinstance(body, dict) and body.get("Type") == "Notification":
                body = json.loads(body.get("Message") or "")  # S3 → SNS → SQS
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            # A body nobody can read goes to the dead-letter queue for a human to look at.
            logs.line(logging.ERROR, **base, status="failed", error=f"unreadable body: {exc}")
            return False
        if body.get("Event") == TEST_EVENT:
            bucket = body.get("Bucket")
            logs.line(logging.INFO, **base, event=TEST_EVENT, bucket=bucket, status="ignored")
            return True
        s3_records = body.get("Records")
        if not isinstance(s3_records, list):
            logs.line(logging.ERROR, **base, status="failed", error="no Records in body")
            return False
        ok = True
        for s3_record in s3_records:
            ok = self._logged(s3_record, base, ref, retry) and ok
        return ok

    def _logged(self, s3_record: Any, base: dict[str, Any], ref: str, retry: bool) -> bool:
        """Process one S3 record and write its one log line; False when it must be retried."""
        started = time.perf_counter()
        fields: dict[str, Any] = dict(base)
        ok = True
        try:
            self.process_s3_record(s3_record, fields, ref, retry)
            fields.setdefault("status", "ok")
        except RetryableError as exc:
            ok = False
            fields.update(status="failed", error=str(exc))
        except Exception as exc:  # a malformed record or a bug: retried, then dead-lettered
            ok = False
            fields.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            logs.logger.exception("unexpected error")
        fields["ms"] = round((time.perf_counter() - started) * 1000, 1)
        logs.line(logging.INFO if ok else logging.ERROR, **fields)
        return ok

    def process_s3_record(
        self, record: dict[str, Any], fields: dict[str, Any], ref: str, retry: bool
    ) -> None:
        """Purge + invalidate (+ warm on create) for one S3 record; fills the log fields."""
        name = record["eventName"]
        bucket = record["s3"]["bucket"]["name"]
        # S3 URL-encodes keys in events, with "+" for spaces ("red flower.jpg" → "red+flower.jpg").
        key = unquote_plus(record["s3"]["object"]["key"])
        fields.update(event=name, bucket=bucket, key=key)
        created = name.startswith("ObjectCreated:")
        if not (created or name.startswith("ObjectRemoved:")):
            fields["status"] = "ignored"
            return
        if self.settings.originals_bucket and bucket != self.settings.originals_bucket:
            fields.update(status="ignored", reason="not the originals bucket")
            return
        try:
            validate_key(key, self.policy)
        except BadRequest as exc:
            # The origin refuses such keys, so no variant of it can exist.
            fields.update(status="ignored", reason=exc.message)
            return
        self._purge(key, fields, ref, retry)
        if created and self.settings.warm_widths:
            self._warm(key, fields)

    def _purge(self, key: str, fields: dict[str, Any], ref: str, retry: bool) -> None:
        purge = purge_key(self.store, key, "auto", DEFAULT_EXACT_MAX)
        fields.update(found=len(purge.found), deleted=purge.deleted)
        if not purge.ok:
            # Before invalidating: with stale variants still stored, an invalidation now would
            # only let viewers re-cache them, and the retry's could not replace it.
            raise RetryableError(purge.error or f"{len(purge.not_deleted)} variants not deleted")
        # A retry cannot know what an earlier try deleted without invalidating: /KEY/* covers
        # it all, under a reference that includes the receive count (see handle_sqs_record).
        paths = [wildcard_path(key)] if retry else purge.paths
        fields["paths"] = paths
        if paths and self.invalidator is not None:
            try:
                reference = caller_reference(ref, paths)
                sub = self.invalidator.submit(paths, reference, patient=False)
            except InvalidationFailed as exc:
                # TooManyInvalidationsInProgress included: SQS redelivers after the visibility
                # timeout, which is the backoff CloudFront asks for.
                raise RetryableError(f"invalidation failed: {exc}") from None
            fields["invalidation"] = sub.id
        elif paths:
            fields["invalidation"] = "skipped: no DISTRIBUTION_ID"

    def _warm(self, key: str, fields: dict[str, Any]) -> None:
        report = warm_keys(
            self.origin,
            [key],
            self.settings.warm_widths,
            self.warm_formats,
            self.policy.quality_default,
            # One original per record: fetched once, its variants rendered one at a time, so
            # the function never holds more than one decode of an original (up to 100 MP).
            concurrency=1,
            progress=False,
        )
        fields.update(warmed=len(report.done), warm_skipped=len(report.skipped))
        if report.failed:
            fields["warm_failed"] = {k: f"{s} {r}" for k, (s, r) in report.failed.items()}
        if report.retriable:
            raise RetryableError("warm failed (storage); will retry")
        if report.failed:
            # The upload itself is bad (4xx): log it, acknowledge it, never retry it.
            fields["status"] = "ok-unrenderable"


def build_processor(settings: Settings) -> EventProcessor:
    """An EventProcessor for these settings (CloudFront only when DISTRIBUTION_ID is set)."""
    invalidator = None
    if settings.distribution_id:
        invalidator = CloudFrontInvalidator.create(settings.distribution_id)
    return EventProcessor(settings, build_store(settings), load_policy(), invalidator)


_processor: EventProcessor | None = None


def get_processor() -> EventProcessor:
    """The process-wide EventProcessor, built once at cold start."""
    global _processor
    if _processor is None:
        logs.setup()
        _processor = build_processor(Settings.from_env())
    return _processor


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point for the SQS event source mapping (ReportBatchItemFailures)."""
    return get_processor().handle(event)
