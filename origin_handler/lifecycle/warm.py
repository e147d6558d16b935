"""Warm: render and store the variants of many originals before anyone asks for them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadRequest, OriginError
from ..origin.handler import Origin
from ..origin.storage import ImageStore, StoredObject
from ..policy import ORIGINAL_FAMILY, Policy
from ..variants import AUTO_PREFIX, Variant, admits, derived_prefix, validate_key
from .purge import Progress

NEGOTIATED_FORMATS = ("auto-avif", "auto-webp", "auto-orig")  # what browsers' URLs hit

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


def warm_variants(
    key: str,
    widths: Iterable[int],
    formats: Iterable[tuple[str, bool]],
    quality: int,
    policy: Policy,
) -> list[Variant]:
    """One variant per width × format; BadRequest for a bad key or a variant the policy refuses.

    Only what the edge could ever ask for is worth generating: ``variants.admits`` is the
    same judge the canonical parser applies.
    """
    validate_key(key, policy)
    variants = []
    for width in widths:
        for fmt, negotiated in formats:
            variant = Variant(key, width, None, None, quality, fmt, negotiated)
            if not admits(policy, variant):
                raise BadRequest(f"variant {variant.ops} is not in the policy")
            variants.append(variant)
    return variants


def check_warm_options(
    widths: Iterable[int], formats: list[tuple[str, bool]], quality: int, policy: Policy
) -> None:
    """Raise BadRequest naming the first width, format or quality the policy does not allow.

    Each value is tried in an otherwise plain variant, so the message can say which it was.
    """

    def allowed(width: int | None, fmt: str, negotiated: bool, q: int) -> bool:
        return admits(policy, Variant("x", width, None, None, q, fmt, negotiated))

    default_q = policy.quality_default
    for width in widths:
        if not allowed(width, ORIGINAL_FAMILY, True, default_q):  # auto-orig: always allowed
            listed = " ".join(map(str, policy.widths))
            raise BadRequest(f"width {width} is not in the policy ({listed})")
    for fmt, negotiated in formats:
        if not allowed(None, fmt, negotiated, default_q):
            raise BadRequest(f"format {AUTO_PREFIX if negotiated else ''}{fmt} is not allowed")
    if not formats:
        raise BadRequest("no formats given")
    if not allowed(None, ORIGINAL_FAMILY, True, quality):
        listed = " ".join(map(str, policy.qualities))
        raise BadRequest(f"quality {quality} is not in the policy ({listed})")


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
    progress: Progress | None = None,
    metadata: Mapping[str, str] | None = None,
) -> WarmReport:
    """Render and store every missing variant; variants already stored are skipped.

    ``metadata`` is recorded on every variant written (besides the original's ETag and date).

    Each original is fetched once and its missing variants are rendered one after another
    from those bytes; ``concurrency`` originals are worked on at once (never several decodes
    of one original, which for a 100 MP image is most of a function's memory).
    """
    report = WarmReport()
    todo: list[tuple[str, list[Variant]]] = []
    widths = list(widths)
    for key in keys:
        try:
            requests = warm_variants(key, widths, formats, quality, origin.policy)
        except BadRequest as exc:
            # Options were checked up front, so this is the key (`bad\name.png`, `a//b.jpg`):
            # no URL reaches it, nothing to render; reported, and the other keys go on.
            report.failed[key] = (exc.status, exc.message)
            continue
        try:
            stored, missing = split_stored(origin.store, key, requests)
        except OriginError as exc:
            for req in requests:
                report.failed[req.derived_key] = (exc.status, f"listing failed: {exc.message}")
            continue
        report.skipped += [req.derived_key for req in stored]
        if missing:
            todo.append((key, missing))
    if dry_run:
        report.planned = [req.derived_key for _, missing in todo for req in missing]
        return report
    total = sum(len(missing) for _, missing in todo)
    finished = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(_warm_key, origin, key, missing, metadata) for key, missing in todo]
        for future in as_completed(futures):
            outcomes = future.result()
            for derived_key, failure in outcomes:
                if failure is None:
                    report.done.append(derived_key)
                else:
                    report.failed[derived_key] = failure
            finished += len(outcomes)
            if progress is not None:
                progress(finished, total)
    report.done.sort()
    report.failed = dict(sorted(report.failed.items()))
    return report


def split_stored(
    store: ImageStore, key: str, variants: list[Variant]
) -> tuple[list[Variant], list[Variant]]:
    """(stored, missing) variants of one original: one LIST instead of one GET per variant.

    Raises the store's OriginError when the listing fails.
    """
    present = set(store.list_derived(derived_prefix(key)))
    stored = [v for v in variants if v.derived_key in present]
    return stored, [v for v in variants if v.derived_key not in present]


def warm_listed(
    origin: Origin, key: str, variants: list[Variant], metadata: Mapping[str, str] | None = None
) -> WarmReport:
    """Render the given variants of one original that are not stored yet (a warm job).

    One LIST finds the stored ones, which are skipped without a read or a write; a storage
    failure of that LIST fails every variant with its status (5xx: worth a retry).
    """
    report = WarmReport()
    try:
        stored, missing = split_stored(origin.store, key, variants)
    except OriginError as exc:
        report.failed = {
            v.derived_key: (exc.status, f"listing failed: {exc.message}") for v in variants
        }
        return report
    report.skipped = [v.derived_key for v in stored]
    for derived_key, failure in _warm_key(origin, key, missing, metadata) if missing else []:
        if failure is None:
            report.done.append(derived_key)
        else:
            report.failed[derived_key] = failure
    return report


def _warm_key(
    origin: Origin, key: str, requests: list[Variant], metadata: Mapping[str, str] | None = None
) -> list[tuple[str, Failure | None]]:
    """Fetch one original once, then render and store its variants one after another."""
    try:
        original = origin.store.get_original(key, origin.settings.limits.max_source_bytes)
    except Exception as exc:  # every variant of this original fails the same way
        failure = _failure(exc)
        return [(req.derived_key, failure) for req in requests]
    return [(req.derived_key, _warm_one(origin, req, original, metadata)) for req in requests]


def _warm_one(
    origin: Origin,
    variant: Variant,
    original: StoredObject,
    metadata: Mapping[str, str] | None = None,
) -> Failure | None:
    """Render and store one variant; None on success, else (status, reason)."""
    try:
        rendition = origin.render_and_store(variant, original, metadata)
    except Exception as exc:  # a bug must not stop the other variants
        return _failure(exc)
    if not rendition.stored:
        return 502, f"rendered but not stored: {rendition.store_error}"
    return None


def _failure(exc: Exception) -> Failure:
    if isinstance(exc, OriginError):
        return exc.status, exc.message
    return 500, f"internal error: {type(exc).__name__}: {exc}"
