"""`image-origin` command line: serve, package, invalidate, warm."""

from __future__ import annotations

import argparse
import importlib
import sys

# command → (module, help); each module has add_<command>_arguments and run_<command>.
COMMANDS = {
    "serve": ("origin_handler.server", "run the local endpoint (edge + origin) over HTTP"),
    "package": ("origin_handler.packaging", "build the Lambda deployment zip"),
    "invalidate": ("origin_handler.lifecycle", "purge an original's variants and CDN cache"),
    "warm": ("origin_handler.warm", "pre-generate variants for many originals"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="image-origin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        child = sub.add_parser(command, help=help_text, description=help_text)
        getattr(module, f"add_{command}_arguments")(child)
        child.set_defaults(_run=getattr(module, f"run_{command}"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its return value is the exit status."""
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
