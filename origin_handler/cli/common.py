"""Flags, store, key selection and progress bars shared by the `invalidate` and `warm` commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from ..errors import BadRequest
from ..lifecycle.purge import Progress
from ..local.paths import LOCAL_DERIVED, derived_dir_for
from ..origin.storage import ImageStore, build_store
from ..policy import Policy
from ..settings import Settings, SettingsError
from ..variants import validate_key


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where keys and stores come from: --keys-from, buckets, endpoint, local directories."""
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
        "--derived",
        metavar="DIR",
        help="local derived directory (default: serve's, .local-derived/<originals' name-hash>)",
    )


class UsageError(Exception):
    """Bad flags, keys or settings: exit status 2."""


def settings_and_store(args: argparse.Namespace) -> tuple[Settings, ImageStore, bool]:
    """Settings from the environment, overridden by flags; the store; whether originals exist."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:  # a malformed variable is a configuration error: exit 2
        raise UsageError(str(exc)) from None
    local = getattr(args, "local", None)
    if args.originals or args.derived or (local and not args.derived_bucket):
        originals = args.originals or settings.originals_dir
        # serve's default for the same originals directory (one variant store per root).
        derived = (
            args.derived
            or settings.derived_dir
            or str(derived_dir_for(originals) if originals else LOCAL_DERIVED)
        )
        settings = replace(settings, originals_dir=originals or "", derived_dir=derived)
        # Without an originals directory only the derived side can be listed: the store
        # gets an originals side with nothing in it.
        store = build_store(replace(settings, originals_dir=originals or os.devnull))
        return settings, store, bool(originals)
    settings = replace(
        settings,
        originals_bucket=args.originals_bucket or settings.originals_bucket,
        derived_bucket=args.derived_bucket or settings.derived_bucket,
        s3_endpoint_url=args.endpoint_url or settings.s3_endpoint_url,
    )
    if not (settings.originals_dir or settings.derived_bucket):
        raise UsageError("no store: give --derived-bucket (or DERIVED_BUCKET), or --derived DIR")
    with_originals = bool(settings.originals_dir or settings.originals_bucket)
    return settings, build_store(settings), with_originals


def require_keys(args: argparse.Namespace) -> None:
    """Raise UsageError unless some originals were named or selected."""
    if not (args.keys or args.keys_from or args.prefix is not None or args.all):
        raise UsageError("give KEY…, --keys-from FILE, --prefix P or --all")


def named_keys(args: argparse.Namespace, policy: Policy) -> list[str]:
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


def selected_keys(
    args: argparse.Namespace, policy: Policy, discover: Callable[[str], Iterable[str]]
) -> list[str]:
    """KEY/--keys-from keys, then what ``discover(prefix)`` finds for --all or --prefix P.

    In order, without duplicates; ``discover`` is the command's own idea of "every original
    under a prefix" (``invalidate`` also finds deleted originals that still have variants).
    """
    keys = dict.fromkeys(named_keys(args, policy))
    if args.all or args.prefix is not None:
        keys.update(dict.fromkeys(discover("" if args.all else args.prefix)))
    return list(keys)


@contextmanager
def progress_bar(desc: str, unit: str) -> Iterator[Progress]:
    """A tqdm bar on stderr (only on a terminal) driven by an engine's progress callback."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, disable=None)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def stderr(message: str) -> None:
    """Print a progress or error message on stderr, at once."""
    print(message, file=sys.stderr, flush=True)
