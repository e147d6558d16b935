"""`image-origin warm`: render and store the variants of many originals before anyone asks."""

from __future__ import annotations

import argparse
import json
import os

from ..errors import BadRequest, OriginError
from ..lifecycle.warm import check_warm_options, parse_formats, warm_keys
from ..origin.handler import Origin
from ..policy import Policy, load_policy
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

DEFAULT_WARM_WIDTHS = (640, 1080, 1920)


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
    with progress_bar("warm", "variant") as progress:
        report = warm_keys(
            origin,
            keys,
            widths,
            formats,
            quality,
            concurrency=args.concurrency,
            dry_run=args.dry_run,
            progress=progress,
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
