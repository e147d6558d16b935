"""Cache lifecycle: purge an original's variants everywhere (`invalidate`), pre-generate (`warm`).

Purging one original is three steps, always in this order:

1. list the derived bucket under ``KEY/`` and keep only direct variants of KEY
   (``is_variant_of``: not ``KEY.bak/...`` and not ``KEY/deeper.jpg/...``);
2. batch-delete them (DeleteObjects takes at most 1000 keys per call);
3. invalidate them in CloudFront. Deleting first matters: CloudFront's origin group reads
   the derived bucket before the origin function, so an invalidation that lands before the
   delete would let the next viewer re-cache the stale variant from S3 for a year.

Which CloudFront paths (see docs/lifecycle.md for the cost arithmetic):

* every path costs the same (first 1,000 a month free, then $0.005 each), exact or ``*``;
* at most 15 wildcard paths and, independently, 3,000 exact paths may be in progress;
* the cache key is the canonical URI the viewer-request function writes
  (``/photos/cat.jpg/w=640,q=75,f=auto-avif``), so an exact path is that URI, and the
  wildcard is ``/KEY/*`` — never ``/KEY*``, which would also hit ``/KEYother.jpg``.

So ``auto`` (the default) sends exact paths for a key with up to ``exact_max`` variants found
(no wildcard queue, at most ``exact_max`` paths) and one ``/KEY/*`` for a key with more
(one path however many variants). Wildcards go in requests of 15, waiting for the previous
wildcard request to complete before sending the next; a TooManyInvalidationsInProgress
answer (someone else's invalidations) waits for those and retries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import BadRequest, OriginError
from .handler import Origin, build_store
from .policy import Policy, load_policy
from .request import (
    AUTO_PREFIX,
    ORIGINAL_FAMILY,
    TransformRequest,
    derived_prefix,
    encode_key,
    from_canonical,
    is_variant_of,
    validate_key,
)
from .settings import Settings
from .storage import ImageStore, LocalStore, S3Store

# CloudFront limits (Developer Guide, "Concurrent invalidation request maximum").
WILDCARD_IN_PROGRESS = 15
EXACT_IN_PROGRESS = 3000
MAX_PATH_CHARS = 4000  # longest invalidation path CloudFront accepts
DEFAULT_EXACT_MAX = 3
NEGOTIATED_FORMATS = ("auto-avif", "auto-webp", "auto-orig")  # what browsers' URLs hit
DEFAULT_WARM_WIDTHS = (640, 1080, 1920)
LOCAL_INVALIDATE_PATH = "/__edge/invalidate"

PathMode = Literal["auto", "exact", "wildcard"]


# --------------------------------------------------------------------------- paths


def find_variants(store: ImageStore, key: str) -> list[str]:
    """Derived keys that are direct variants of ``key`` (sorted)."""
    return sorted(k for k in store.list_derived(derived_prefix(key)) if is_variant_of(k, key))


def exact_path(derived_key: str) -> str:
    """The CloudFront path (cache key URI) of one stored variant."""
    key, _, ops = derived_key.rpartition("/")
    return f"{encode_key(key)}/{ops}"


def wildcard_path(key: str) -> str:
    """``/KEY/*``: every variant of KEY and nothing else (the key itself is percent-encoded)."""
    return f"{encode_key(key)}/*"


def key_paths(key: str, variants: list[str], mode: PathMode, exact_max: int) -> list[str]:
    """The invalidation paths for one original, given the variants found in the derived store."""
    if mode == "wildcard":
        return [wildcard_path(key)]
    exact = [exact_path(v) for v in variants]
    if any(len(p) > MAX_PATH_CHARS for p in exact):
        return [wildcard_path(key)]
    if mode == "exact" or len(exact) <= exact_max:
        return exact
    return [wildcard_path(key)]


def plan_batches(paths: Iterable[str]) -> list[list[str]]:
    """Requests: exact paths in groups of ≤3000, then wildcards in groups of ≤15."""
    unique = list(dict.fromkeys(paths))
    exact = [p for p in unique if not p.endswith("*")]
    wild = [p for p in unique if p.endswith("*")]
    return [*_chunks(exact, EXACT_IN_PROGRESS), *_chunks(wild, WILDCARD_IN_PROGRESS)]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def caller_reference(prefix: str, paths: list[str]) -> str:
    """A CallerReference that is stable for the same paths under the same prefix.

    CloudFront returns the existing invalidation for a repeated reference with the same
    paths, so a retried SQS message does not pay twice; different paths get a new one.
    """
    digest = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"[:128]


# --------------------------------------------------------------------------- purge


@dataclass
class KeyPurge:
    """What happened to one original's derived variants."""

    key: str
    found: list[str] = field(default_factory=list)
    not_deleted: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def deleted(self) -> int:
        """How many variants were deleted (or would be, on a dry run)."""
        return len(self.found) - len(self.not_deleted)

    @property
    def ok(self) -> bool:
        """True when every variant found is gone."""
        return self.error is None and not self.not_deleted


def purge_key(
    store: ImageStore,
    key: str,
    mode: PathMode = "auto",
    exact_max: int = DEFAULT_EXACT_MAX,
    dry_run: bool = False,
) -> KeyPurge:
    """List and delete one original's variants; returns the paths to invalidate.

    Paths are returned even when some deletes failed: invalidating a variant whose
    object survived is harmless, and a rerun lists (and so invalidates) it again.
    """
    result = KeyPurge(key)
    try:
        result.found = find_variants(store, key)
    except OriginError as exc:
        result.error = f"listing failed: {exc.message}"
        return result
    result.paths = key_paths(key, result.found, mode, exact_max)
    if dry_run or not result.found:
        return result
    try:
        result.not_deleted = store.delete_derived(result.found)
    except OriginError as exc:
        result.not_deleted = list(result.found)
        result.error = f"delete failed: {exc.message}"
    return result


def discover_keys(store: ImageStore, prefix: str, with_originals: bool = True) -> list[str]:
    """Originals under prefix plus originals that only have variants left (deleted ones)."""
    keys: set[str] = set(store.list_originals(prefix)) if with_originals else set()
    for derived in store.list_derived(prefix):
        original = derived.rpartition("/")[0]
        if original and is_variant_of(derived, original):
            keys.add(original)
    return sorted(keys)


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
                inv = self.client.get_invalidation(DistributionId=self.distribution_id, Id=inv_id)
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
        items = (
            self.client.list_invalidations(DistributionId=self.distribution_id)
            .get("InvalidationList", {})
            .get("Items", [])
        )
        busy = [i["Id"] for i in items if i["Status"].lower() == "inprogress"]
        if busy:
            self.wait(busy, deadline)
        else:
            self.sleep(self.poll_seconds)

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """Send all paths in batches; a wildcard batch waits for the previous one to complete."""
        report = InvalidationReport()
        batches = plan_batches(paths)
        pending_wildcard: str | None = None
        try:
            for n, batch in enumerate(batches, 1):
                if batch[0].endswith("*") and pending_wildcard:
                    self.say(f"cloudfront: waiting for {pending_wildcard} (15 wildcard limit)")
                    self.wait([pending_wildcard])
                sub = self.submit(batch, caller_reference(f"{reference}-{n}", batch))
                report.submitted.append(sub)
                self.say(f"cloudfront: {sub.id} {sub.status} ({len(batch)} paths)")
                if batch[0].endswith("*"):
                    pending_wildcard = sub.id
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


class LocalEdgeInvalidator:
    """Invalidates the in-memory edge cache of `image-origin serve` over HTTP."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def target(self) -> str:
        """Where invalidations go, for messages."""
        return f"local edge {self.base_url}"

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """POST every path at once: the local edge has no in-progress limits."""
        report = InvalidationReport()
        if not paths:
            return report
        body = json.dumps({"paths": paths}).encode()
        req = urllib.request.Request(
            self.base_url + LOCAL_INVALIDATE_PATH,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = json.loads(resp.read() or b"{}")
        except (OSError, ValueError) as exc:
            report.error = f"local edge failed: {exc}"
            report.not_submitted = list(paths)
            return report
        count = answer.get("invalidated", 0)
        report.submitted.append(Submitted("local", list(paths), f"Completed ({count} dropped)"))
        return report


# --------------------------------------------------------------------------- invalidate


@dataclass
class PurgeReport:
    """The outcome of `invalidate`: per-key purges and the CDN side."""

    keys: list[KeyPurge]
    cdn: InvalidationReport
    target: str
    dry_run: bool = False
    planned: list[list[str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when everything found was deleted and every path was accepted."""
        return all(k.ok for k in self.keys) and self.cdn.ok

    def as_json(self) -> dict[str, Any]:
        """A JSON-able summary (what `--json` prints)."""
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "target": self.target,
            "keys": [
                {
                    "key": k.key,
                    "found": len(k.found),
                    "deleted": 0 if self.dry_run else k.deleted,
                    "not_deleted": k.not_deleted,
                    "paths": k.paths,
                    "error": k.error,
                }
                for k in self.keys
            ],
            "invalidations": [
                {"id": s.id, "status": s.status, "paths": s.paths} for s in self.cdn.submitted
            ],
            "paths_not_invalidated": self.cdn.not_submitted,
            "invalidation_error": self.cdn.error,
        }


class _NoCdn:
    """Used with --no-cdn: the derived store is purged, no cache is invalidated."""

    target = "no CDN (--no-cdn)"

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """Nothing to send."""
        return InvalidationReport()


def invalidate_keys(
    store: ImageStore,
    invalidator: Any,
    keys: list[str],
    *,
    mode: PathMode = "auto",
    exact_max: int = DEFAULT_EXACT_MAX,
    everything: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    progress: bool | None = None,
) -> PurgeReport:
    """Purge each key's variants, then invalidate their paths (``/*`` once when everything)."""
    from tqdm import tqdm

    purges = []
    for key in tqdm(keys, desc="purge", unit="key", disable=_no_bar(progress)):
        purges.append(purge_key(store, key, mode, exact_max, dry_run))
    paths = ["/*"] if everything else [p for k in purges if k.error is None for p in k.paths]
    if everything:  # one "/*" path replaces every per-key path
        for purge in purges:
            purge.paths = []
    report = PurgeReport(purges, InvalidationReport(), invalidator.target, dry_run)
    report.planned = plan_batches(paths)
    if not dry_run and paths:
        report.cdn = invalidator.run(paths, f"image-origin-{uuid.uuid4().hex}", wait=wait)
    return report


def add_invalidate_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin invalidate`."""
    parser.add_argument("keys", nargs="*", metavar="KEY", help="original keys, e.g. photos/cat.jpg")
    _add_source_arguments(parser)
    parser.add_argument("--distribution-id", help="CloudFront distribution (env DISTRIBUTION_ID)")
    parser.add_argument(
        "--local", metavar="URL", help="invalidate the edge cache of `image-origin serve` at URL"
    )
    parser.add_argument("--no-cdn", action="store_true", help="purge derived objects only")
    parser.add_argument(
        "--prefix", help="also every original under this prefix (and originals with only variants)"
    )
    parser.add_argument("--all", action="store_true", help="every original; invalidates /* once")
    parser.add_argument(
        "--paths",
        choices=("auto", "exact", "wildcard"),
        default="auto",
        help="exact variant paths, /KEY/* per key, or auto (exact up to --exact-max variants)",
    )
    parser.add_argument("--exact-max", type=int, default=DEFAULT_EXACT_MAX, metavar="N")
    parser.add_argument("--dry-run", action="store_true", help="list what would be done")
    parser.add_argument("--wait", action="store_true", help="wait until invalidations complete")
    parser.add_argument("--json", action="store_true", help="print a JSON report on stdout")


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keys-from",
        metavar="FILE",
        help="more keys, one per line ('-' for stdin; blank lines and # comments skipped)",
    )
    parser.add_argument("--originals-bucket", help="originals bucket (env ORIGINALS_BUCKET)")
    parser.add_argument("--derived-bucket", help="derived bucket (env DERIVED_BUCKET)")
    parser.add_argument("--endpoint-url", help="AWS endpoint (S3 and CloudFront), e.g. moto")
    parser.add_argument("--originals", metavar="DIR", help="local originals directory")
    parser.add_argument(
        "--derived", metavar="DIR", help="local derived directory (serve's default: .local-derived)"
    )


class UsageError(Exception):
    """Bad flags or keys: exit status 2."""


def _settings_and_store(args: argparse.Namespace) -> tuple[Settings, ImageStore, bool]:
    """Settings from the environment, overridden by flags; the store; whether originals exist."""
    from dataclasses import replace

    settings = Settings.from_env()
    local = getattr(args, "local", None)
    if args.originals or args.derived or (local and not args.derived_bucket):
        originals = args.originals or settings.originals_dir
        derived = args.derived or settings.derived_dir or ".local-derived"
        # Without an originals directory only the derived side can be listed.
        store = LocalStore(originals or os.devnull, derived)
        settings = replace(settings, originals_dir=originals or "", derived_dir=derived)
        return settings, store, bool(originals)
    settings = replace(
        settings,
        originals_bucket=args.originals_bucket or settings.originals_bucket,
        derived_bucket=args.derived_bucket or settings.derived_bucket,
        s3_endpoint_url=args.endpoint_url or settings.s3_endpoint_url,
    )
    if settings.originals_dir:
        return settings, build_store(settings), True
    if not settings.derived_bucket:
        raise UsageError("no store: give --derived-bucket (or DERIVED_BUCKET), or --derived DIR")
    store = S3Store.create(
        settings.originals_bucket, settings.derived_bucket, settings.s3_endpoint_url
    )
    return settings, store, bool(settings.originals_bucket)


def _keys(
    args: argparse.Namespace, store: ImageStore, policy: Policy, with_originals: bool
) -> list[str]:
    keys = dict.fromkeys(_named_keys(args, policy))
    if args.all:
        keys.update(dict.fromkeys(discover_keys(store, "", with_originals)))
    elif args.prefix is not None:
        keys.update(dict.fromkeys(discover_keys(store, args.prefix, with_originals)))
    return list(keys)


def _named_keys(args: argparse.Namespace, policy: Policy) -> list[str]:
    """KEY arguments plus --keys-from lines, validated like the origin validates them."""
    raw_keys = list(args.keys)
    if args.keys_from:
        try:
            if args.keys_from == "-":
                text = sys.stdin.read()
            else:
                with open(args.keys_from, encoding="utf-8") as fh:
                    text = fh.read()
        except OSError as exc:
            raise UsageError(f"--keys-from: {exc}") from None
        raw_keys += [ln.strip() for ln in text.splitlines() if ln.strip() and ln[:1] != "#"]
    keys = []
    for raw in raw_keys:
        key = raw.removeprefix("/")  # a URL path is accepted too; keys never start with "/"
        try:
            keys.append(validate_key(key, policy))
        except BadRequest as exc:
            raise UsageError(f"{raw!r}: {exc.message}") from None
    return keys


def _invalidator(args: argparse.Namespace, settings: Settings, say: Callable[[str], None]) -> Any:
    if args.no_cdn:
        return _NoCdn()
    if args.local:
        return LocalEdgeInvalidator(args.local)
    dist = args.distribution_id or settings.distribution_id
    if not dist:
        raise UsageError("no CDN: give --distribution-id (or DISTRIBUTION_ID), --local, --no-cdn")
    return CloudFrontInvalidator.create(dist, args.endpoint_url, say=say)


def run_invalidate(args: argparse.Namespace) -> int:
    """Purge and invalidate; exit 0 when all done, 1 when anything failed, 2 on bad usage."""
    say = _stderr
    try:
        if not (args.keys or args.keys_from or args.prefix is not None or args.all):
            raise UsageError("give KEY…, --keys-from FILE, --prefix P or --all")
        settings, store, with_originals = _settings_and_store(args)
        policy = load_policy()
        keys = _keys(args, store, policy, with_originals)
        invalidator = _invalidator(args, settings, say)
    except (UsageError, OriginError) as exc:
        say(f"invalidate: {getattr(exc, 'message', exc)}")
        return 2
    report = invalidate_keys(
        store,
        invalidator,
        keys,
        mode=args.paths,
        exact_max=args.exact_max,
        everything=args.all,
        dry_run=args.dry_run,
        wait=args.wait,
    )
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        _print_purge(report)
    return 0 if report.ok else 1


def _print_purge(report: PurgeReport) -> None:
    keys = report.keys
    found = sum(len(k.found) for k in keys)
    verb = "would delete" if report.dry_run else "deleted"
    deleted = found if report.dry_run else sum(k.deleted for k in keys if k.error is None)
    print(f"{len(keys)} originals, {found} variants found, {deleted} {verb}")
    for k in keys:
        if k.error or k.not_deleted:
            print(f"  NOT done {k.key}: {k.error or ''} {len(k.not_deleted)} variants remain")
    if report.dry_run:
        for batch in report.planned:
            print(f"would invalidate on {report.target}: {len(batch)} paths: {' '.join(batch)}")
        return
    for sub in report.cdn.submitted:
        print(f"{report.target}: invalidation {sub.id} {sub.status}, {len(sub.paths)} paths")
    if report.cdn.error:
        print(f"{report.target}: FAILED: {report.cdn.error}")
        print(f"  NOT invalidated ({len(report.cdn.not_submitted)} paths; derived already gone,")
        print("  so rerun with --paths wildcard for these keys):")
        for path in report.cdn.not_submitted:
            print(f"    {path}")
    print("ok" if report.ok else "FAILED: see above; rerunning is safe")


def _no_bar(progress: bool | None) -> bool | None:
    """tqdm's disable: off when asked, else automatic (None: only on a terminal)."""
    return True if progress is False else None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- warm


def parse_formats(tokens: Iterable[str]) -> list[tuple[str, bool]]:
    """Format tokens (``auto``, ``auto-avif``, ``webp``, …) → (format, negotiated) pairs."""
    out: list[tuple[str, bool]] = []
    for raw in tokens:
        token = raw.strip().lower()
        if not token:
            continue
        for name in NEGOTIATED_FORMATS if token == "auto" else (token,):
            fmt = name.removeprefix(AUTO_PREFIX)
            pair = (fmt, name.startswith(AUTO_PREFIX))
            if pair not in out:
                out.append(pair)
    return out


def warm_requests(
    key: str,
    widths: Iterable[int],
    formats: Iterable[tuple[str, bool]],
    quality: int,
    policy: Policy,
) -> list[TransformRequest]:
    """One canonical request per width × format (BadRequest when not in the policy)."""
    requests = []
    for width in widths:
        for fmt, negotiated in formats:
            draft = TransformRequest(key, width, None, None, quality, fmt, negotiated)
            # Re-parse: only what the edge could ever ask for is worth generating.
            requests.append(from_canonical(key, draft.ops, policy))
    return requests


def check_warm_options(
    widths: Iterable[int], formats: list[tuple[str, bool]], quality: int, policy: Policy
) -> None:
    """Raise BadRequest naming the first width, format or quality the policy does not allow."""
    for width in widths:
        if width not in policy.widths:
            allowed = " ".join(map(str, policy.widths))
            raise BadRequest(f"width {width} is not in the policy ({allowed})")
    for fmt, negotiated in formats:
        allowed_formats = (*policy.negotiated, ORIGINAL_FAMILY) if negotiated else policy.formats
        if fmt not in allowed_formats:
            raise BadRequest(f"format {'auto-' if negotiated else ''}{fmt} is not allowed")
    if not formats:
        raise BadRequest("no formats given")
    warm_requests("x", list(widths)[:1] or [policy.widths[0]], formats, quality, policy)


@dataclass
class WarmReport:
    """Variants generated, skipped because present, and failed (with status and reason)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, tuple[int, str]] = field(default_factory=dict)
    planned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    @property
    def retriable(self) -> bool:
        """True when some failure is the store's or ours (5xx), not the original's (4xx)."""
        return any(status >= 500 for status, _ in self.failed.values())

    def as_json(self) -> dict[str, Any]:
        """A JSON-able summary (what `--json` prints)."""
        return {
            "ok": self.ok,
            "done": len(self.done),
            "skipped": len(self.skipped),
            "failed": [
                {"variant": k, "status": s, "reason": r} for k, (s, r) in self.failed.items()
            ],
            "planned": self.planned,
        }


def warm_keys(
    origin: Origin,
    keys: Iterable[str],
    widths: Iterable[int],
    formats: list[tuple[str, bool]],
    quality: int,
    *,
    concurrency: int = 4,
    dry_run: bool = False,
    progress: bool | None = None,
) -> WarmReport:
    """Render and store every missing variant; variants already stored are skipped."""
    from tqdm import tqdm

    report = WarmReport()
    todo: list[TransformRequest] = []
    widths = list(widths)
    for key in keys:
        requests = warm_requests(key, widths, formats, quality, origin.policy)
        try:
            # One LIST per original instead of one GET per variant.
            present = set(origin.store.list_derived(derived_prefix(key)))
        except OriginError as exc:
            for req in requests:
                report.failed[req.derived_key] = (exc.status, f"listing failed: {exc.message}")
            continue
        for req in requests:
            if req.derived_key in present:
                report.skipped.append(req.derived_key)
            else:
                todo.append(req)
    if dry_run:
        report.planned = [r.derived_key for r in todo]
        return report
    bar = tqdm(total=len(todo), desc="warm", unit="variant", disable=_no_bar(progress))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(_warm_one, origin, req): req for req in todo}
        for future in as_completed(futures):
            req = futures[future]
            failure = future.result()
            if failure is None:
                report.done.append(req.derived_key)
            else:
                report.failed[req.derived_key] = failure
            bar.update(1)
    bar.close()
    report.done.sort()
    report.failed = dict(sorted(report.failed.items()))
    return report


def _warm_one(origin: Origin, req: TransformRequest) -> tuple[int, str] | None:
    """Render and store one variant; None on success, else (status, reason)."""
    fields: dict[str, Any] = {}
    try:
        origin.serve(req, True, fields)
    except OriginError as exc:
        return exc.status, exc.message
    except Exception as exc:  # a bug must not stop the other variants
        return 500, f"internal error: {type(exc).__name__}: {exc}"
    if fields.get("store_error"):
        return 502, f"rendered but not stored: {fields['store_error']}"
    return None


def add_warm_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin warm`."""
    parser.add_argument("keys", nargs="*", metavar="KEY", help="original keys, e.g. photos/cat.jpg")
    _add_source_arguments(parser)
    parser.add_argument("--prefix", help="every original under this prefix")
    parser.add_argument("--all", action="store_true", help="every original")
    parser.add_argument(
        "--widths",
        help="comma-separated policy widths (default: WARM_WIDTHS, else "
        + ",".join(map(str, DEFAULT_WARM_WIDTHS))
        + ")",
    )
    parser.add_argument(
        "--formats",
        help="comma-separated: auto (= auto-avif,auto-webp,auto-orig, what browsers hit),"
        " auto-avif, auto-webp, auto-orig, or explicit avif, webp, jpeg, png"
        " (default: WARM_FORMATS, else auto)",
    )
    parser.add_argument("--quality", type=int, help="policy quality (default: the policy default)")
    parser.add_argument("--concurrency", type=int, default=min(8, os.cpu_count() or 2))
    parser.add_argument("--dry-run", action="store_true", help="list what would be generated")
    parser.add_argument("--json", action="store_true", help="print a JSON report on stdout")


def warm_options(
    args: argparse.Namespace, settings: Settings, policy: Policy
) -> tuple[list[int], list[tuple[str, bool]], int]:
    """Widths, formats and quality from flags, else settings, else defaults; validated."""
    try:
        if args.widths:
            widths = [int(w) for w in args.widths.split(",") if w.strip()]
        else:
            widths = list(settings.warm_widths or DEFAULT_WARM_WIDTHS)
    except ValueError:
        raise UsageError("--widths must be comma-separated whole numbers") from None
    tokens = args.formats.split(",") if args.formats else list(settings.warm_formats or ["auto"])
    formats = parse_formats(tokens)
    quality = args.quality if args.quality is not None else policy.quality_default
    try:
        check_warm_options(widths, formats, quality, policy)
    except BadRequest as exc:
        raise UsageError(exc.message) from None
    return widths, formats, quality


def run_warm(args: argparse.Namespace) -> int:
    """Pre-generate variants; exit 0 when none failed, 1 when any did, 2 on bad usage."""
    try:
        if not (args.keys or args.keys_from or args.prefix is not None or args.all):
            raise UsageError("give KEY…, --keys-from FILE, --prefix P or --all")
        settings, store, with_originals = _settings_and_store(args)
        if not with_originals:
            raise UsageError("warm needs originals: --originals DIR or --originals-bucket")
        policy = load_policy()
        widths, formats, quality = warm_options(args, settings, policy)
        keys = _warm_keys(args, store, policy)
    except (UsageError, OriginError) as exc:
        _stderr(f"warm: {getattr(exc, 'message', exc)}")
        return 2
    origin = Origin(settings, store, policy)
    report = warm_keys(
        origin,
        keys,
        widths,
        formats,
        quality,
        concurrency=args.concurrency,
        dry_run=args.dry_run,
    )
    if args.json:
        print(json.dumps({"originals": len(keys), **report.as_json()}, indent=2))
    else:
        verb = "would generate" if args.dry_run else "generated"
        count = len(report.planned) if args.dry_run else len(report.done)
        print(
            f"{len(keys)} originals: {count} {verb}, {len(report.skipped)} skipped (present),"
            f" {len(report.failed)} failed"
        )
        for variant in report.planned:
            print(f"  would generate {variant}")
        for variant, (status, reason) in sorted(report.failed.items()):
            print(f"  FAILED {variant}: {status} {reason}")
    return 0 if report.ok else 1


def _warm_keys(args: argparse.Namespace, store: ImageStore, policy: Policy) -> list[str]:
    keys = dict.fromkeys(_named_keys(args, policy))
    if args.all or args.prefix is not None:
        keys.update(dict.fromkeys(sorted(store.list_originals("" if args.all else args.prefix))))
    return list(keys)
