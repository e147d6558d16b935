"""One structured JSON log line per request or event, on the `image_origin` logger."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

logger = logging.getLogger("image_origin")


def setup() -> None:
    """Send our lines to stdout as-is (Lambda ships stdout to CloudWatch)."""
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def line(level: int = logging.INFO, **fields: Any) -> None:
    """Emit one JSON object; values that are not JSON become strings."""
    logger.log(level, json.dumps(fields, default=str, separators=(",", ":")))
