"""The `warm` command: render and store the variants of many originals before anyone asks."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from .clitools import (
    UsageError,
    add_source_arguments,
    no_bar,
    require_keys,
    selected_keys,
    settings_and_store,
    stderr,
)
from .errors import BadRequest, OriginError
from .handler import Origin
from .policy import Policy, load_policy
from .request import AUTO_PREFIX, ORIGINAL_FAMILY, TransformRequest, derived_prefix, from_canonical
from .settings import Settings
from .storage import StoredObject

NEGOTIATED_FORMATS = ("auto-avif", "auto-webp", "auto-orig")  # what browsers' URLs hit
DEFAULT_WARM_WIDTHS = (640, 1080, 1920)

Failure = tuple[int, str]  # (status, reason) of a variant that was not generated


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
    """Raise BadRequest naming the first width, format or quality the policy does not allow.

    ``request.from_canonical`` (what the edge and the origin apply) is the only judge: each
    value is tried in an otherwise plain variant, so the message can say which one it was.
    """
    plain = (ORIGINAL_FAMILY, True)  # auto-orig: allowed by every policy

    def allowed(width: int | None, fmt: tuple[str, bool], q: int) -> bool:
        draft = TransformRequest("x", width, None, None, q, *fmt)
        try:
            from_canonical("x", draft.ops, policy)
        except BadRequest:
            return False
        return True

    default_q = policy.quality_default
    for width in widths:
        if not allowed(width, plain, default_q):
            listed = " ".join(map(str, policy.widths))
            raise BadRequest(f"width {width} is not in the policy ({listed})")
    for fmt, negotiated in formats:
        if not allowed(None, (fmt, negotiated), default_q):
            raise BadRequest(f"format {AUTO_PREFIX if negotiated else ''}{fmt} is not allowed")
    if not formats:
        raise BadRequest("no formats given")
    if not allowed(None, plain, quality):
        raise BadRequest(
            f"quality {quality} is not in the policy (a multiple of {policy.quality_step}"
            f" up to {policy.quality_max})"
        )


@dataclass
class WarmReport:
    """Variants generated, skipped because present, and failed (with status and reason)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, Failure] = field(default_factory=dict)
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
    """Render and store every missing variant; variants already stored are skipped.

    Each original is fetched once and its missing variants are rendered one after another
    from those bytes; ``concurrency`` originals are worked on at once (never several decodes
    of one original, which for a 100 MP image is most of a function's memory).
    """
    from tqdm import tqdm

    report = WarmReport()
    todo: list[tuple[str, list[TransformRequest]]] = []
    widths = list(widths)
    for key in keys:
        try:
            requests = warm_requests(key, widths, formats, quality, origin.policy)
        except BadRequest as exc:
            # Options were checked up front, so this is the key (`bad\name.png`, `a//b.jpg`):
            # no URL reaches it, nothing to render; reported, and the other keys go on.
            report.failed[key] = (exc.status, exc.message)
            continue
        try:
            # One LIST per original instead of one GET per variant.
            present = set(origin.store.list_derived(derived_prefix(key)))
        except OriginError as exc:
            for req in requests:
                report.failed[req.derived_key] = (exc.status, f"listing failed: {exc.message}")
            continue
        missing = []
        for req in requests:
            if req.derived_key in present:
                report.skipped.append(req.derived_key)
            else:
                missing.append(req)
        if missing:
            todo.append((key, missing))
    if dry_run:
        report.planned = [req.derived_key for _, missing in todo for req in missing]
        return report
    total = sum(len(missing) for _, missing in todo)
    bar = tqdm(total=total, desc="warm", unit="variant", disable=no_bar(progress))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(_warm_key, origin, key, missing) for key, missing in todo]
        for future in as_completed(futures):
            outcomes = future.result()
            for derived_key, failure in outcomes:
                if failure is None:
                    report.done.append(derived_key)
                else:
                    report.failed[derived_key] = failure
            bar.update(len(outcomes))
    bar.close()
    report.done.sort()
    report.failed = dict(sorted(report.failed.items()))
    return report


def _warm_key(
    origin: Origin, key: str, requests: list[TransformRequest]
) -> list[tuple[str, Failure | None]]:
    """Fetch one original once, then render and store its variants one after another."""
    try:
        original = origin.store.get_original(key, origin.settings.limits.max_source_bytes)
    except Exception as exc:  # every variant of this original fails the same way
        failure = _failure(exc)
        return [(req.derived_key, failure) for req in requests]
    return [(req.derived_key, _warm_one(origin, req, original)) for req in requests]


def _warm_one(origin: Origin, req: TransformRequest, original: StoredObject) -> Failure | None:
    """Render and store one variant; None on success, else (status, reason)."""
    fields: dict[str, Any] = {}
    try:
        _, stored = origin.render_and_store(req, original, fields)
    except Exception as exc:  # a bug must not stop the other variants
        return _failure(exc)
    if not stored:
        return 502, f"rendered but not stored: {fields['store_error']}"
    return None


def _failure(exc: Exception) -> Failure:
    if isinstance(exc, OriginError):
        return exc.status, exc.message
    return 500, f"internal error: {type(exc).__name__}: {exc}"


def add_warm_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin warm`."""
    parser.add_argument("keys", nargs="*", metavar="KEY", help="original keys, e.g. photos/cat.jpg")
    add_source_arguments(parser)
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
    parser.add_argument(
        "--concurrency",
        type=int,
        default=min(8, os.cpu_count() or 2),
        help="originals worked on at once (each one's variants render one after another)",
    )
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
        require_keys(args)
        settings, store, with_originals = settings_and_store(args)
        if not with_originals:
            raise UsageError("warm needs originals: --originals DIR or --originals-bucket")
        policy = load_policy()
        widths, formats, quality = warm_options(args, settings, policy)
        keys = selected_keys(args, policy, lambda p: sorted(store.list_originals(p)))
    except (UsageError, OriginError) as exc:
        stderr(f"warm: {getattr(exc, 'message', exc)}")
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
