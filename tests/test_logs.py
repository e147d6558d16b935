"""The request log line, and its CloudWatch embedded-metric form."""

from __future__ import annotations

import json
import logging

from origin_handler import logs


def test_line_is_one_json_object(caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    logs.line(status=200, key="a b.jpg", when=object)
    (record,) = caplog.records
    assert json.loads(record.message)["key"] == "a b.jpg"


def test_metrics_follow_the_embedded_metric_format():
    fields = {"source": "rendered", "ms": 12.5, "bytes_out": 3000, "status": 200}
    line = logs.with_metrics(fields, "ImageOrigin")
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ImageOrigin"
    assert directive["Dimensions"] == [["source"]]
    assert directive["Metrics"] == [
        {"Name": "ms", "Unit": "Milliseconds"},
        {"Name": "bytes_out", "Unit": "Bytes"},
    ]
    # Every referenced member is on the root, as the format requires.
    assert all(m["Name"] in line for m in directive["Metrics"]) and "source" in line
    assert isinstance(line["_aws"]["Timestamp"], int)


def test_no_namespace_no_metrics_and_absent_numbers_are_not_declared():
    assert "_aws" not in logs.with_metrics({"ms": 1}, "")
    error = logs.with_metrics({"source": "error", "ms": 1.0}, "ImageOrigin")
    assert [m["Name"] for m in error["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["ms"]
