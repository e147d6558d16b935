"""Purge one original's variants everywhere, and the `invalidate` command built on it.

Purging one original is three steps, always in this order:

1. list the derived bucket under ``KEY/`` and keep only direct variants of KEY
   (``is_variant_of``: not ``KEY.bak/...`` and not ``KEY/deeper.jpg/...``);
2. batch-delete them (DeleteObjects takes at most 1000 keys per call);
3. invalidate them in CloudFront. Deleting first matters: CloudFront's origin group reads
   the derived bucket before the origin function, so an invalidation that lands before the
   delete would let the next viewer re-cache the stale variant from S3 for a year.

Which paths step 3 sends, and how, is ``invalidation``'s concern. ``invalidate --all``
does the same in one sweep: one listing of the whole derived store instead of one per
original, every variant deleted, then a single ``/*``.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable
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
from .errors import OriginError
from .invalidation import (
    DEFAULT_EXACT_MAX,
    CloudFrontInvalidator,
    InvalidationReport,
    LocalEdgeInvalidator,
    NoCdn,
    PathMode,
    key_paths,
    plan_batches,
)
from .policy import load_policy
from .request import derived_prefix, is_variant_of
from .settings import Settings
from .storage import DELETE_BATCH, ImageStore, chunks

# --------------------------------------------------------------------------- purge


def find_variants(store: ImageStore, key: str) -> list[str]:
    """Derived keys that are direct variants of ``key`` (sorted)."""
    return sorted(k for k in store.list_derived(derived_prefix(key)) if is_variant_of(k, key))


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


def variant_owner(derived_key: str) -> str | None:
    """The original a derived key is a variant of (its last segment is ops), else None."""
    original = derived_key.rpartition("/")[0]
    return original if original and is_variant_of(derived_key, original) else None


def discover_keys(store: ImageStore, prefix: str, with_originals: bool = True) -> list[str]:
    """Originals under prefix plus originals that only have variants left (deleted ones)."""
    keys: set[str] = set(store.list_originals(prefix)) if with_originals else set()
    for derived in store.list_derived(prefix):
        original = variant_owner(derived)
        if original:
            keys.add(original)
    return sorted(keys)


def sweep_variants(store: ImageStore, dry_run: bool = False) -> list[KeyPurge]:
    """Every variant in the derived store, listed once and deleted; one KeyPurge per original.

    A listing failure is one KeyPurge for ``*`` with the error (and nothing deleted).
    """
    by_key: dict[str, KeyPurge] = {}
    try:
        for derived in store.list_derived(""):
            original = variant_owner(derived)
            if original:
                by_key.setdefault(original, KeyPurge(original)).found.append(derived)
    except OriginError as exc:
        return [KeyPurge("*", error=f"listing failed: {exc.message}")]
    purges = sorted(by_key.values(), key=lambda k: k.key)
    if dry_run:
        return purges
    owner = {derived: purge for purge in purges for derived in purge.found}
    for batch in chunks(list(owner), DELETE_BATCH):
        try:
            refused = store.delete_derived(batch)
        except OriginError as exc:
            refused = batch
            for purge in {id(owner[k]): owner[k] for k in batch}.values():
                purge.error = f"delete failed: {exc.message}"
        for derived in refused:
            owner[derived].not_deleted.append(derived)
    return purges


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
    """Purge each key's variants, then invalidate their paths.

    ``everything`` ignores ``keys``: one sweep of the derived store purges every variant of
    every original, then ``/*`` is sent once (unless the sweep could not list the store).
    """
    from tqdm import tqdm

    if everything:
        purges = sweep_variants(store, dry_run)
        listed = not any(k.key == "*" for k in purges)
        paths = ["/*"] if listed else []
    else:
        purges = []
        for key in tqdm(keys, desc="purge", unit="key", disable=no_bar(progress)):
            purges.append(purge_key(store, key, mode, exact_max, dry_run))
        paths = [p for k in purges if k.error is None for p in k.paths]
    report = PurgeReport(purges, InvalidationReport(), invalidator.target, dry_run)
    report.planned = plan_batches(paths)
    if not dry_run and paths:
        report.cdn = invalidator.run(paths, f"image-origin-{uuid.uuid4().hex}", wait=wait)
    return report


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


def _invalidator(args: argparse.Namespace, settings: Settings, say: Callable[[str], None]) -> Any:
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
        if not report.cdn.not_submitted:
            print("  every path was accepted (ids above); only waiting for them failed")
    if report.cdn.not_submitted:
        print(f"  NOT invalidated ({len(report.cdn.not_submitted)} paths; derived already gone,")
        print("  so rerun with --paths wildcard for these keys):")
        for path in report.cdn.not_submitted:
            print(f"    {path}")
    print("ok" if report.ok else "FAILED: see above; rerunning is safe")
