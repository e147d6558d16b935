"""`image-origin serve`: the local endpoint (edge stand-in + origin) over HTTP."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from .. import logs
from ..local.edge import Edge, EdgeCache
from ..local.paths import LOCAL_DERIVED, derived_dir_for
from ..local.server import make_server
from ..origin.handler import Origin
from ..origin.storage import build_store
from ..settings import Settings, SettingsError
from .common import UsageError
from .policy import add_policy_flag, load_policy_arg


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin serve`."""
    parser.add_argument("--originals", metavar="DIR", help="directory of original images")
    parser.add_argument(
        "--derived",
        metavar="DIR",
        help=f"directory for derived variants (default: {LOCAL_DERIVED}/<originals' name-hash>)",
    )
    parser.add_argument("--s3-bucket", help="originals bucket (instead of --originals)")
    parser.add_argument("--derived-bucket", help="derived bucket (with --s3-bucket)")
    parser.add_argument("--endpoint-url", help="S3 endpoint, e.g. a moto_server on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--edge-cache-mb", type=int, default=256, help="in-memory edge cache size")
    add_policy_flag(parser, "; with signing on, SIGNING_KEYS holds the keys")


def run_serve(args: argparse.Namespace) -> int:
    """Start the local endpoint and serve until interrupted."""
    logs.setup()
    try:
        settings = Settings.from_env()
        policy = load_policy_arg(args.policy)
    except (SettingsError, UsageError) as exc:
        print(f"image-origin: {exc}", file=sys.stderr)
        return 2
    if policy.signing_mode != "off" and not settings.signing_keys:
        print(
            f"image-origin: the policy has signing {policy.signing_mode}: set SIGNING_KEYS to a"
            " JSON object of key id -> secret (image-origin sign --new-secret makes a secret)",
            file=sys.stderr,
        )
        return 2
    if args.s3_bucket and not args.derived_bucket:
        # Variants written into the originals bucket would show up as originals (and fire
        # its upload events): the two must be separate.
        print("image-origin: serve --s3-bucket needs --derived-bucket", file=sys.stderr)
        return 2
    if args.s3_bucket:
        settings = replace(
            settings,
            originals_bucket=args.s3_bucket,
            derived_bucket=args.derived_bucket,
            s3_endpoint_url=args.endpoint_url or settings.s3_endpoint_url,
            originals_dir="",  # the flags choose S3 even when ORIGINALS_DIR is set
            derived_dir="",
        )
    elif args.originals:
        # Keyed by the originals root: another DIR with the same file names gets its own.
        derived = args.derived or str(derived_dir_for(args.originals))
        settings = replace(settings, originals_dir=args.originals, derived_dir=derived)
    else:
        print("image-origin: serve needs --originals DIR or --s3-bucket NAME", file=sys.stderr)
        return 2
    store = build_store(settings)
    edge = Edge(
        Origin(settings, store, policy),
        EdgeCache(args.edge_cache_mb << 20),
        # Local files change without invalidations: a cached answer is checked against them.
        revalidate_originals=bool(settings.originals_dir),
    )
    try:
        server = make_server(edge, args.host, args.port)
    except OSError as exc:  # most often: the port is taken
        print(
            f"image-origin: cannot listen on {args.host}:{args.port}: {exc.strerror}"
            f" (try --port {args.port + 1}, or PORT={args.port + 1} make demo)",
            file=sys.stderr,
        )
        return 1
    host, port = server.server_address[:2]
    print(f"image-origin: serving on http://{host}:{port}/  (demo page at /)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
