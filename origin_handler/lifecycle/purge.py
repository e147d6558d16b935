"""Purge one original's variants everywhere: the engine of `invalidate` and the events function.

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

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import OriginError
from ..origin.storage import DELETE_BATCH, SOURCE_ETAG, ImageStore, chunks
from ..variants import derived_prefix, is_variant_of, owner_of
from .invalidation import (
    DEFAULT_EXACT_MAX,
    InvalidationReport,
    Invalidator,
    PathMode,
    key_paths,
    plan_batches,
)

# done, total: called as work completes, so a caller can draw a progress bar.
Progress = Callable[[int, int], None]

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
    # Variants rendered from the current original (left in place), with their metadata.
    kept: dict[str, dict[str, str]] = field(default_factory=dict)

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
    keep_source: str | None = None,
) -> KeyPurge:
    """List and delete one original's variants; returns the paths to invalidate.

    Paths are returned even when some deletes failed: invalidating a variant whose
    object survived is harmless, and a rerun lists (and so invalidates) it again.

    With ``keep_source`` (the current original's ETag, unquoted) a variant that recorded
    that ETag (``SOURCE_ETAG``, read with one HEAD per variant found) was rendered from
    the current original: it is kept (``kept``), neither deleted nor invalidated.
    """
    result = KeyPurge(key)
    try:
        result.found = find_variants(store, key)
        if keep_source:
            for derived in result.found:
                meta = store.derived_metadata(derived)
                if meta is not None and meta.get(SOURCE_ETAG) == keep_source:
                    result.kept[derived] = meta
            result.found = [k for k in result.found if k not in result.kept]
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
        original = owner_of(derived)
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
            original = owner_of(derived)
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


# --------------------------------------------------------------------------- purge + CDN


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
    invalidator: Invalidator,
    keys: list[str],
    *,
    mode: PathMode = "auto",
    exact_max: int = DEFAULT_EXACT_MAX,
    everything: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    progress: Progress | None = None,
) -> PurgeReport:
    """Purge each key's variants, then invalidate their paths.

    ``everything`` ignores ``keys``: one sweep of the derived store purges every variant of
    every original, then ``/*`` is sent once (unless the sweep could not list the store).
    """
    if everything:
        purges = sweep_variants(store, dry_run)
        listed = not any(k.key == "*" for k in purges)
        paths = ["/*"] if listed else []
    else:
        purges = []
        for key in keys:
            purges.append(purge_key(store, key, mode, exact_max, dry_run))
            if progress is not None:
                progress(len(purges), len(keys))
        paths = [p for k in purges if k.error is None for p in k.paths]
    report = PurgeReport(purges, InvalidationReport(), invalidator.target, dry_run)
    report.planned = plan_batches(paths)
    if not dry_run and paths:
        report.cdn = invalidator.run(paths, f"image-origin-{uuid.uuid4().hex}", wait=wait)
    return report
