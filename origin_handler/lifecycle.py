"""Cache lifecycle: purge an original's variants and CDN cache (`invalidate`), pre-generate (`warm`)."""

from __future__ import annotations

import argparse


def add_invalidate_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin invalidate` (being implemented, see issue 5)."""
    parser.add_argument("keys", nargs="*", metavar="KEY")


def run_invalidate(args: argparse.Namespace) -> int:
    """Not implemented yet."""
    raise SystemExit("invalidate: not implemented yet")


def add_warm_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin warm` (being implemented, see issue 5)."""
    parser.add_argument("keys", nargs="*", metavar="KEY")


def run_warm(args: argparse.Namespace) -> int:
    """Not implemented yet."""
    raise SystemExit("warm: not implemented yet")
