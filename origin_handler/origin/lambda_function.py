"""The origin Lambda's entry point: ``origin_handler.origin.lambda_function.lambda_handler``."""

from __future__ import annotations

import logging
from typing import Any

from .. import logs
from ..pipeline import resample
from ..policy import load_policy
from ..settings import Settings
from . import responses
from .handler import Origin
from .storage import build_store

_origin: Origin | None = None


def get_origin() -> Origin:
    """The process-wide Origin, built once at cold start."""
    global _origin
    if _origin is None:
        logs.setup()
        settings = Settings.from_env()
        _origin = Origin(settings, build_store(settings), load_policy())
        codecs = codec_support()
        # A zip built with the wrong Pillow wheels shows here once, not as scattered 500s.
        logs.line(
            logging.INFO if all(codecs.values()) else logging.ERROR,
            event="cold_start",
            codecs=codecs,
            resizer=resample.engine(),
        )
    return _origin


def codec_support() -> dict[str, bool]:
    """Which of the codecs the pipeline relies on this Pillow build has."""
    from PIL import features

    return {
        name: bool(features.check(name)) for name in ("jpg", "zlib", "webp", "avif", "littlecms2")
    }


def lambda_handler(event: dict[str, Any], context: Any = None) -> responses.Response:
    """AWS Lambda entry point for the function URL."""
    return get_origin().handle(event, remaining_time_ms(context))


def remaining_time_ms(context: Any) -> int | None:
    """The invocation's time left, from Lambda's context object (None outside Lambda)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if callable(remaining) else None
