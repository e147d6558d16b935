"""CDN side of purging: which paths to invalidate, in which batches, sent to CloudFront.

Which CloudFront paths (docs/cache-lifecycle.md, "Which CloudFront paths", has the cost arithmetic):

* every path costs the same (first 1,000 a month free, then $0.005 each), exact or ``*``;
* at most 15 wildcard paths and, independently, 3,000 exact paths may be in progress;
* the cache key is the canonical URI the viewer-request function writes
  (``/photos/cat.jpg/w=640,q=75,f=auto-avif``), so an exact path is that URI, and the
  wildcard is ``/KEY/*`` — never ``/KEY*``, which would also hit ``/KEYother.jpg``.

So ``auto`` (the default) sends exact paths for a key with up to ``exact_max`` variants found
(no wildcard queue, at most ``exact_max`` paths) and one ``/KEY/*`` for a key with more
(one path however many variants). Exact paths go in requests of up to 3,000 and wildcards
in requests of up to 15; a request that would take our own in-progress paths of its kind
over the limit first waits for our earlier requests of that kind to complete. A
TooManyInvalidationsInProgress answer (someone else's invalidations) waits for those and
retries.

No path can exceed CloudFront's 4,000 characters: an S3 key is at most 1,024 bytes, so the
longest variant path (every byte of the key percent-encoded, the ops segment unencoded) is
at most 1 + 3 × 1,024 characters.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..origin.storage import chunks
from ..variants import exact_path, wildcard_path

# CloudFront limits (Developer Guide, "Concurrent invalidation request maximum").
WILDCARD_IN_PROGRESS = 15
EXACT_IN_PROGRESS = 3000
DEFAULT_EXACT_MAX = 3

PathMode = Literal["auto", "exact", "wildcard"]


# --------------------------------------------------------------------------- paths


def key_paths(key: str, variants: list[str], mode: PathMode, exact_max: int) -> list[str]:
    """The invalidation paths for one original, given the variants found in the derived store."""
    if mode == "wildcard":
        return [wildcard_path(key)]
    exact = [exact_path(v) for v in variants]
    if mode == "exact" or len(exact) <= exact_max:
        return exact
    return [wildcard_path(key)]


def plan_batches(paths: Iterable[str]) -> list[list[str]]:
    """Requests: exact paths in groups of ≤3000, then wildcards in groups of ≤15."""
    unique = list(dict.fromkeys(paths))
    exact = [p for p in unique if not p.endswith("*")]
    wild = [p for p in unique if p.endswith("*")]
    return [*chunks(exact, EXACT_IN_PROGRESS), *chunks(wild, WILDCARD_IN_PROGRESS)]


def caller_reference(prefix: str, paths: list[str]) -> str:
    """A CallerReference that is stable for the same paths under the same prefix.

    CloudFront returns the existing invalidation for a repeated reference with the same
    paths, so a retried SQS message does not pay twice; different paths get a new one.
    """
    digest = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"[:128]


# --------------------------------------------------------------------------- CDN


@dataclass
class Submitted:
    """One invalidation request CloudFront (or the local edge) accepted."""

    id: str
    paths: list[str]
    status: str


@dataclass
class InvalidationReport:
    """Invalidation requests sent, and paths that were not."""

    submitted: list[Submitted] = field(default_factory=list)
    not_submitted: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every path was accepted."""
        return self.error is None and not self.not_submitted


class Invalidator(Protocol):
    """Where purged paths are invalidated: CloudFront, the local edge, or nowhere."""

    @property
    def target(self) -> str:
        """Where invalidations go, for messages."""
        ...

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """Invalidate every path; what was and was not accepted."""
        ...


class InvalidationFailed(Exception):
    """CloudFront refused or could not take an invalidation request."""


class CloudFrontInvalidator:
    """Submits invalidations within CloudFront's in-progress limits, waiting where needed."""

    def __init__(
        self,
        client: Any,
        distribution_id: str,
        poll_seconds: float = 20.0,
        max_wait_seconds: float = 1800.0,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.distribution_id = distribution_id
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.say = say or (lambda _msg: None)

    @classmethod
    def create(
        cls, distribution_id: str, endpoint_url: str | None = None, **kw: Any
    ) -> CloudFrontInvalidator:
        """An invalidator with a boto3 CloudFront client (standard retries)."""
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 5})
        client = boto3.client("cloudfront", endpoint_url=endpoint_url, config=config)
        return cls(client, distribution_id, **kw)

    @property
    def target(self) -> str:
        """Where invalidations go, for messages."""
        return f"cloudfront {self.distribution_id}"

    def submit(self, paths: list[str], reference: str, patient: bool = True) -> Submitted:
        """Create one invalidation; when patient, wait out TooManyInvalidationsInProgress."""
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            try:
                resp = self.client.create_invalidation(
                    DistributionId=self.distribution_id,
                    InvalidationBatch={
                        "Paths": {"Quantity": len(paths), "Items": paths},
                        "CallerReference": reference,
                    },
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code != "TooManyInvalidationsInProgress" or not patient:
                    raise InvalidationFailed(f"{code}: {_client_message(exc)}") from None
                if time.monotonic() > deadline:
                    raise InvalidationFailed(f"{code}: still busy after waiting") from None
                self.say("cloudfront: too many invalidations in progress, waiting")
                self._wait_in_progress(deadline)
                continue
            except BotoCoreError as exc:
                raise InvalidationFailed(f"cloudfront unreachable: {exc}") from None
            inv = resp["Invalidation"]
            return Submitted(inv["Id"], paths, inv["Status"])

    def wait(self, ids: Iterable[str], deadline: float | None = None) -> dict[str, str]:
        """Poll until each invalidation is Completed; returns the final statuses."""
        deadline = deadline or time.monotonic() + self.max_wait_seconds
        statuses: dict[str, str] = {}
        for inv_id in ids:
            while True:
                inv = self._call("get_invalidation", Id=inv_id)
                status = inv["Invalidation"]["Status"]
                # The API says "Completed"; moto says "COMPLETED": compare case-insensitively.
                if status.lower() == "completed":
                    statuses[inv_id] = status
                    break
                if time.monotonic() > deadline:
                    raise InvalidationFailed(f"invalidation {inv_id} still {status}")
                self.sleep(self.poll_seconds)
        return statuses

    def _wait_in_progress(self, deadline: float) -> None:
        items = self._call("list_invalidations").get("InvalidationList", {}).get("Items", [])
        busy = [i["Id"] for i in items if i["Status"].lower() == "inprogress"]
        if busy:
            self.wait(busy, deadline)
        else:
            self.sleep(self.poll_seconds)

    def _call(self, operation: str, **kw: Any) -> Any:
        """A read-only CloudFront call; any AWS failure becomes InvalidationFailed."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(DistributionId=self.distribution_id, **kw)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise InvalidationFailed(f"{operation}: {code}: {_client_message(exc)}") from None
        except BotoCoreError as exc:
            raise InvalidationFailed(f"{operation}: cloudfront unreachable: {exc}") from None

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """Send all paths in batches, each only when CloudFront's in-progress limit has room.

        Exact and wildcard paths have separate limits (3,000 and 15): a batch that would take
        our in-progress paths of its kind over the limit waits for our earlier batches of
        that kind to complete first (7,200 exact paths: 3,000, then 3,000, then 1,200).
        """
        report = InvalidationReport()
        batches = plan_batches(paths)
        in_progress: dict[bool, list[Submitted]] = {False: [], True: []}  # by "is wildcard"
        try:
            for n, batch in enumerate(batches, 1):
                wildcard = batch[0].endswith("*")
                limit = WILDCARD_IN_PROGRESS if wildcard else EXACT_IN_PROGRESS
                ahead = in_progress[wildcard]
                if ahead and sum(len(s.paths) for s in ahead) + len(batch) > limit:
                    ids = [s.id for s in ahead]
                    kind = "wildcard" if wildcard else "exact"
                    self.say(f"cloudfront: waiting for {' '.join(ids)} ({limit} {kind} limit)")
                    self.wait(ids)
                    ahead.clear()
                sub = self.submit(batch, caller_reference(f"{reference}-{n}", batch))
                report.submitted.append(sub)
                ahead.append(sub)
                self.say(f"cloudfront: {sub.id} {sub.status} ({len(batch)} paths)")
            if wait and report.submitted:
                final = self.wait([s.id for s in report.submitted])
                for sub in report.submitted:
                    sub.status = final.get(sub.id, sub.status)
        except InvalidationFailed as exc:
            report.error = str(exc)
            sent = {p for s in report.submitted for p in s.paths}
            report.not_submitted = [p for b in batches for p in b if p not in sent]
        return report


def _client_message(exc: Any) -> str:
    return exc.response.get("Error", {}).get("Message", "") or str(exc)


class NoCdn:
    """Used with --no-cdn: the derived store is purged, no cache is invalidated."""

    target = "no CDN (--no-cdn)"

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """Nothing to send."""
        return InvalidationReport()
