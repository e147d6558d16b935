"""`image-origin invalidate`: purge originals' variants, then invalidate them at the CDN."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from ..errors import OriginError
from ..lifecycle.invalidation import DEFAULT_EXACT_MAX, CloudFrontInvalidator, Invalidator, NoCdn
from ..lifecycle.purge import PurgeReport, discover_keys, invalidate_keys
from ..local.edge_client import LocalEdgeInvalidator
from ..policy import load_policy
from ..settings import Settings
from .common import (
    UsageError,
    add_source_arguments,
    progress_bar,
    require_keys,
    selected_keys,
    settings_and_store,
    stderr,
)


def add_invalidate_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin invalidate`."""
    parser.add_argument("keys", nargs="*", metavar="KEY", help="original keys, e.g. photos/cat.jpg")
    add_source_arguments(parser)
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


def _invalidator(
    args: argparse.Namespace, settings: Settings, say: Callable[[str], None]
) -> Invalidator:
    if args.no_cdn:
        return NoCdn()
    if args.local:
        return LocalEdgeInvalidator(args.local)
    dist = args.distribution_id or settings.distribution_id
    if not dist:
        raise UsageError("no CDN: give --distribution-id (or DISTRIBUTION_ID), --local, --no-cdn")
    return CloudFrontInvalidator.create(dist, args.endpoint_url, say=say)


def run_invalidate(args: argparse.Namespace) -> int:
    """Purge and invalidate; exit 0 when all done, 1 when anything failed, 2 on bad usage."""
    say = stderr
    try:
        require_keys(args)
        settings, store, with_originals = settings_and_store(args)
        policy = load_policy()

        def discover(prefix: str) -> list[str]:
            # --all sweeps the derived store itself (invalidate_keys): nothing per original.
            return [] if args.all else discover_keys(store, prefix, with_originals)

        keys = selected_keys(args, policy, discover)
        invalidator = _invalidator(args, settings, say)
    except (UsageError, OriginError) as exc:
        say(f"invalidate: {getattr(exc, 'message', exc)}")
        return 2
    with progress_bar("purge", "key") as progress:
        report = invalidate_keys(
            store,
            invalidator,
            keys,
            mode=args.paths,
            exact_max=args.exact_max,
            everything=args.all,
            dry_run=args.dry_run,
            wait=args.wait,
            progress=progress,
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
        if not report.cdn.not_submitted:
            print("  every path was accepted (ids above); only waiting for them failed")
    if report.cdn.not_submitted:
        print(f"  NOT invalidated ({len(report.cdn.not_submitted)} paths; derived already gone,")
        print("  so rerun with --paths wildcard for these keys):")
        for path in report.cdn.not_submitted:
            print(f"    {path}")
    print("ok" if report.ok else "FAILED: see above; rerunning is safe")
