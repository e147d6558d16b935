"""One structured JSON log line per request or event, on the `image_origin` logger."""

from __future__ import annotations

import json
import logging
import sys
import time
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


# Numbers in the request line that become CloudWatch metrics, with their units.
METRICS = (("ms", "Milliseconds"), ("bytes_out", "Bytes"))


def with_metrics(fields: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The same line in CloudWatch embedded metric format: metrics without an API call.

    CloudWatch Logs extracts `ms` and `bytes_out` per `source` (rendered, derived, error)
    from the line itself, so dashboards and alarms cost no extra request or dependency.
    """
    if not namespace:
        return fields
    present = [{"Name": name, "Unit": unit} for name, unit in METRICS if name in fields]
    directive = {"Namespace": namespace, "Dimensions": [["source"]], "Metrics": present}
    aws = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]}
    return {**fields, "_aws": aws}
