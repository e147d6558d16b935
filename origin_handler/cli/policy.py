"""`image-origin policy`: what a policy lets a client ask for, and how many variants that is."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..policy import POLICY_PATH, Policy, load_policy
from ..variants import AUTO_PREFIX, variant_space
from .common import UsageError, stderr


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin policy`."""
    add_policy_flag(parser)
    parser.add_argument(
        "--count",
        action="store_true",
        help="print only the number of distinct image variants per original",
    )


def add_policy_flag(parser: argparse.ArgumentParser, why: str = "") -> None:
    """The --policy FILE flag that load_policy_arg reads (serve, sign and policy take it)."""
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help=f"a policy file (default: the shipped {POLICY_PATH.name}){why}",
    )


def load_policy_arg(path: str | None) -> Policy:
    """The policy a --policy flag names (the shipped one without it); UsageError if bad."""
    if path is None:
        return load_policy()
    try:
        return Policy.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UsageError(f"{path}: {detail}") from None


def summary(policy: Policy) -> str:
    """The variant space of one original, part by part, and its size."""
    space = variant_space(policy)
    w, h, fits = len(policy.widths), len(policy.heights), len(policy.fits)
    sizes = f"1 none + {w} w + {h} h + {w}×{h}×{fits} w+h+fit" if h else f"1 none + {w} w"
    numbers = [q for q in space.qualities if isinstance(q, int)]
    levels = [f"{AUTO_PREFIX}{q}" for q in space.qualities if isinstance(q, str)]
    formats = [f"{AUTO_PREFIX if n else ''}{f}" for f, n in space.formats]
    rows = [
        ("sizes", len(space.sizes), sizes + ("" if h else " (heights off)")),
        ("qualities", len(space.qualities), " ".join(map(str, numbers + levels))),
        ("formats", len(space.formats), " ".join(formats)),
    ]
    lines = [f"{name:<10} {n:>6,}  {detail}" for name, n, detail in rows]
    lines.append(
        f"{'variants':<10} {space.count:>6,}  per original (plus one info document, f=info)"
    )
    return "\n".join(lines)


def run_policy(args: argparse.Namespace) -> int:
    """Print the variant count (``--count``) or the whole summary."""
    try:
        policy = load_policy_arg(args.policy)
    except UsageError as exc:
        stderr(f"policy: {exc}")
        return 2
    print(variant_space(policy).count if args.count else summary(policy))
    return 0
