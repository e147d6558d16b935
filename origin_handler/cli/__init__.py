"""`image-origin` command line: serve, package, invalidate, warm, worker, policy, sign."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import invalidate, packaging, policy, serve, sign, warm, worker

Adder = Callable[[argparse.ArgumentParser], None]
Runner = Callable[[argparse.Namespace], int]

# command → (help, add its arguments, run it)
COMMANDS: dict[str, tuple[str, Adder, Runner]] = {
    "serve": (
        "run the local endpoint (edge + origin) over HTTP",
        serve.add_serve_arguments,
        serve.run_serve,
    ),
    "package": (
        "build the Lambda deployment zip",
        packaging.add_package_arguments,
        packaging.run_package,
    ),
    "invalidate": (
        "purge an original's variants and CDN cache",
        invalidate.add_invalidate_arguments,
        invalidate.run_invalidate,
    ),
    "warm": (
        "pre-generate variants for many originals",
        warm.add_warm_arguments,
        warm.run_warm,
    ),
    "worker": (
        "drain the events queue here, as the events function would",
        worker.add_worker_arguments,
        worker.run_worker,
    ),
    "policy": (
        "show a policy's variant space (--count: variants per original)",
        policy.add_policy_arguments,
        policy.run_policy,
    ),
    "sign": (
        "sign URLs for a policy with signing on (--new-secret: make a key)",
        sign.add_sign_arguments,
        sign.run_sign,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="image-origin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, (help_text, add_arguments, run) in COMMANDS.items():
        child = sub.add_parser(command, help=help_text, description=help_text)
        add_arguments(child)
        child.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its return value is the exit status."""
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
