"""The events Lambda's entry point: ``origin_handler.lifecycle.lambda_function.lambda_handler``."""

from __future__ import annotations

from typing import Any

from .. import logs
from ..origin.storage import build_store
from ..policy import load_policy
from ..settings import Settings
from .events import EventProcessor
from .invalidation import CloudFrontInvalidator


def build_processor(settings: Settings) -> EventProcessor:
    """An EventProcessor for these settings (CloudFront only when DISTRIBUTION_ID is set)."""
    invalidator = None
    if settings.distribution_id:
        invalidator = CloudFrontInvalidator.create(settings.distribution_id)
    return EventProcessor(settings, build_store(settings), load_policy(), invalidator)


_processor: EventProcessor | None = None


def get_processor() -> EventProcessor:
    """The process-wide EventProcessor, built once at cold start."""
    global _processor
    if _processor is None:
        logs.setup()
        _processor = build_processor(Settings.from_env())
    return _processor


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point for the SQS event source mapping (ReportBatchItemFailures)."""
    return get_processor().handle(event)
