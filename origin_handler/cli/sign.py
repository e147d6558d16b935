"""`image-origin sign`: signed URLs from a server, a build script or a shell."""

from __future__ import annotations

import argparse
import sys

from ..errors import BadRequest
from ..origin import signing
from ..settings import Settings, SettingsError
from .common import UsageError
from .policy import add_policy_flag, load_policy_arg


def add_sign_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin sign`."""
    parser.add_argument("urls", nargs="*", metavar="URL", help="public or canonical URLs to sign")
    parser.add_argument(
        "--key-id", help="which of SIGNING_KEYS signs (default: the only one, else required)"
    )
    add_policy_flag(parser)
    parser.add_argument(
        "--new-secret",
        action="store_true",
        help="print a fresh 256-bit secret for SIGNING_KEYS / signing_keys and exit",
    )


def run_sign(args: argparse.Namespace) -> int:
    """Print each URL with its s= appended, one per line; exit 2 on a URL the edge refuses."""
    if args.new_secret:
        print(signing.new_secret())
        return 0
    try:
        policy = load_policy_arg(args.policy)
        key_id, secret = _key(Settings.from_env().signing_secrets, args.key_id)
        if not args.urls:
            raise UsageError("name at least one URL to sign")
        signed = [signing.sign_url(url, key_id, secret, policy) for url in args.urls]
    except (SettingsError, UsageError) as exc:
        print(f"image-origin: {exc}", file=sys.stderr)
        return 2
    except BadRequest as exc:
        print(f"image-origin: not signed, the edge would refuse it: {exc.message}", file=sys.stderr)
        return 2
    print("\n".join(signed))
    return 0


def _key(keys: dict[str, str], key_id: str | None) -> tuple[str, str]:
    if not keys:
        raise UsageError(
            'SIGNING_KEYS is empty: set it to a JSON object like {"k1": "<secret>"}'
            " (image-origin sign --new-secret makes a secret)"
        )
    if key_id is None:
        if len(keys) > 1:
            raise UsageError(
                f"SIGNING_KEYS holds {', '.join(sorted(keys))}: choose one with --key-id"
            )
        key_id = next(iter(keys))
    if key_id not in keys:
        raise UsageError(f"no key {key_id!r} in SIGNING_KEYS ({', '.join(sorted(keys))})")
    return key_id, keys[key_id]
