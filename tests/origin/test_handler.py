"""The function-URL handler against S3: moto in-process and moto_server over real HTTP."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import S3Store, build_store
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import FIXTURES, SAMPLES, decode, free_port
from tests.origin.conftest import DERIVED, KEY, ORIGINALS, body, event


def test_real_event_renders_stores_and_answers(origin: Origin, caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    raw = json.loads((FIXTURES / "function_url_event.json").read_text())
    first = origin.handle(raw)
    assert first["statusCode"] == 200
    headers = first["headers"]
    assert headers["Content-Type"] == "image/webp"
    assert headers["Vary"] == "Accept"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=86400, s-maxage=31536000"
    assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")
    assert all(f"{m};dur=" in headers["Server-Timing"] for m in ("fetch", "decode", "encode"))
    image = decode(body(first))
    assert (image.format, image.size) == ("WEBP", (640, 960))
    assert int(headers["Content-Length"]) == len(body(first))

    stored = origin.store.get_derived("portrait-orientation-6.jpg/w=640,q=75,f=auto-webp")
    assert stored is not None and stored.content_type == "image/webp"
    assert stored.body == body(first)

    second = origin.handle(raw)
    assert body(second) == body(first) and second["headers"]["ETag"] == headers["ETag"]
    lines = [json.loads(r.message) for r in caplog.records if r.message.startswith("{")]
    assert [line["source"] for line in lines] == ["rendered", "derived"]
    assert lines[0]["status"] == 200 and lines[0]["bytes_out"] == len(body(first))


def test_variants_record_only_the_source_timestamp_and_etag(in_process: Origin):
    first = in_process.handle(event(f"/{KEY}/w=256,q=75,f=webp"))
    assert first["statusCode"] == 200
    stored = in_process.store.get_derived(f"{KEY}/w=256,q=75,f=webp")
    assert stored is not None and set(stored.metadata) == {"source-last-modified", "source-etag"}
    original = in_process.store.client.head_object(Bucket=ORIGINALS, Key=KEY)
    assert stored.metadata["source-etag"] == original["ETag"].strip('"')
    second = in_process.handle(event(f"/{KEY}/w=256,q=75,f=webp"))  # from the derived store
    assert second["headers"]["Last-Modified"] == first["headers"]["Last-Modified"]


def test_explicit_format_has_no_vary(origin: Origin):
    response = origin.handle(event(f"/{KEY}/w=256,q=50,f=jpeg"))
    assert response["statusCode"] == 200 and "Vary" not in response["headers"]
    assert decode(body(response)).size == (256, 384)


def test_public_form_and_encoded_keys(in_process: Origin):
    e = event("/dir/my%20cat%2B1.jpg")
    e["rawQueryString"] = "w=100&format=png"
    response = in_process.handle(e)
    assert response["statusCode"] == 200
    assert decode(body(response)).size == (128, 192)


def test_escaped_canonical_uri_is_served_and_stored_under_itself(in_process: Origin):
    """What CloudFront's OAC signs: the key ~XX-escaped, no "%" (variants.escape_key)."""
    uri = "/dir/my~20cat~2B1.jpg/w=128,q=75,f=png"
    response = in_process.handle(event(uri))
    assert response["statusCode"] == 200
    assert decode(body(response)).size == (128, 192)
    assert in_process.store.get_derived(uri[1:]) is not None  # the derived key is the URI
    assert list(in_process.store.list_derived("dir/my~20cat~2B1.jpg/")) == [uri[1:]]


def test_missing_original_is_a_cacheable_404(origin: Origin, caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    response = origin.handle(event("/nope.jpg/w=640,q=75,f=webp"))
    assert response["statusCode"] == 404
    assert response["headers"]["Cache-Control"] == "public, max-age=60"
    assert response["body"] == "404 no such original\n"
    assert json.loads(caplog.records[-1].message)["status"] == 404


def test_bad_parameters_are_400_without_traceback(in_process: Origin):
    response = in_process.handle(event(f"/{KEY}/w=600,q=75,f=webp"))
    assert response["statusCode"] == 400
    assert response["body"] == "400 not a canonical variant\n"
    assert "Traceback" not in response["body"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow(in_process: Origin, method: str):
    response = in_process.handle(event(f"/{KEY}/w=640,q=75,f=webp", method=method))
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, HEAD, OPTIONS"
    assert response["body"] == "405 only GET, HEAD and OPTIONS are served\n"


def test_options_is_a_cacheable_204_that_touches_no_storage(aws_env, caplog):
    # S3 at a closed port: any storage call would end as a 503, so a 204 read nothing.
    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    settings = Settings(originals_bucket=ORIGINALS, derived_bucket=DERIVED)
    origin = Origin(settings, S3Store(ORIGINALS, DERIVED, client), load_policy())
    with caplog.at_level(logging.INFO):
        response = origin.handle(event(f"/{KEY}/w=640,q=75,f=webp", method="OPTIONS"))
    assert response["statusCode"] == 204 and response["body"] == ""
    assert response["headers"]["Allow"] == "GET, HEAD, OPTIONS"
    assert response["headers"]["Cache-Control"].startswith("public, max-age=")
    lines = [json.loads(r.getMessage()) for r in caplog.records if '"status":204' in r.getMessage()]
    assert len(lines) == 1 and lines[0]["source"] == "preflight"


def test_head_has_headers_and_no_body(in_process: Origin):
    response = in_process.handle(event(f"/{KEY}/w=640,q=75,f=webp", method="HEAD"))
    assert response["statusCode"] == 200 and response["body"] == ""
    assert int(response["headers"]["Content-Length"]) > 1000


def test_failed_derived_write_still_returns_the_image(in_process: Origin, caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    in_process.store.derived_bucket = "no-such-bucket"
    response = in_process.handle(event(f"/{KEY}/w=640,q=75,f=webp"))
    assert response["statusCode"] == 200
    assert decode(body(response)).size == (640, 960)
    assert json.loads(caplog.records[-1].message)["store_error"] == "storage bucket is missing"


def test_too_big_for_function_url_is_stored_and_redirected(origin: Origin):
    origin.settings = replace(origin.settings, max_response_bytes=20_000)
    response = origin.handle(event(f"/{KEY}/w=1080,q=90,f=png"))
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == f"/{KEY}/w=1080,q=90,f=png"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert origin.store.get_derived(f"{KEY}/w=1080,q=90,f=png") is not None
    again = origin.handle(event(f"/{KEY}/w=1080,q=90,f=png"))
    assert again["statusCode"] == 302  # stored, still too big to answer: CloudFront serves it


def test_unreachable_storage_is_503_no_store(aws_env):
    settings = Settings.from_env(
        {
            "ORIGINALS_BUCKET": ORIGINALS,
            "DERIVED_BUCKET": DERIVED,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    origin = Origin(settings, build_store(settings), load_policy())
    response = origin.handle(event(f"/{KEY}/w=640,q=75,f=webp"))
    assert response["statusCode"] == 503
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["body"] == "503 storage is unreachable, try again\n"


def test_corrupt_original_is_422(in_process: Origin):
    data = (SAMPLES / KEY).read_bytes()
    in_process.store.client.put_object(Bucket=ORIGINALS, Key="bad.jpg", Body=data[:5000])
    response = in_process.handle(event("/bad.jpg/w=640,q=75,f=webp"))
    assert response["statusCode"] == 422
    assert response["body"] == "422 cannot decode jpeg image\n"


def test_original_over_byte_limit_is_413_before_download(in_process: Origin):
    from origin_handler.settings import Limits

    client = in_process.store.client
    real_get = client.get_object
    reads = []

    def get_object(**kw):
        resp = real_get(**kw)
        body = resp["Body"]
        resp["Body"] = type("Body", (), {"read": lambda *a: reads.append(a), "close": body.close})()
        return resp

    client.get_object = get_object
    in_process.settings = replace(in_process.settings, limits=Limits(max_source_bytes=1000))
    response = in_process.handle(event(f"/{KEY}/w=640,q=75,f=webp"))
    assert response["statusCode"] == 413
    assert response["body"] == "413 original is over 1000 bytes\n"
    assert reads == []  # refused from Content-Length, the body was never read


def test_peek_reads_only_the_first_bytes(in_process: Origin):
    head = in_process.store.peek_original(KEY, 16)
    assert head == (SAMPLES / KEY).read_bytes()[:16]


def test_lambda_handler_with_local_directories(monkeypatch, tmp_path: Path):
    import origin_handler.origin.lambda_function as module

    monkeypatch.setenv("ORIGINALS_DIR", str(SAMPLES))
    monkeypatch.setenv("DERIVED_DIR", str(tmp_path))
    monkeypatch.setattr(module, "_origin", None)
    raw = json.loads((FIXTURES / "function_url_event.json").read_text())
    response = module.lambda_handler(raw, None)
    assert response["statusCode"] == 200
    assert decode(body(response)).size == (640, 960)
    assert (tmp_path / KEY / "w=640,q=75,f=auto-webp").is_file()


def test_log_line_carries_embedded_metrics_and_error_codes(in_process: Origin, caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    in_process.settings = replace(in_process.settings, metrics_namespace="ImageOrigin")
    in_process.handle(event(f"/{KEY}/w=64,q=75,f=webp"))
    in_process.handle(event("/missing.jpg/w=64,q=75,f=webp"))
    ok, missing = (json.loads(r.message) for r in caplog.records[-2:])
    assert ok["source"] == "rendered" and ok["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert missing["source"] == "error" and missing["error_code"] == "not_found"
    assert missing["status"] == 404


def test_cold_start_logs_the_codecs_this_build_has(monkeypatch, tmp_path: Path, caplog):
    import origin_handler.origin.lambda_function as module

    caplog.set_level(logging.INFO, logger="image_origin")
    monkeypatch.setattr(module.logs, "setup", lambda: None)  # keep caplog's propagation
    monkeypatch.setenv("ORIGINALS_DIR", str(SAMPLES))
    monkeypatch.setenv("DERIVED_DIR", str(tmp_path))
    monkeypatch.setattr(module, "_origin", None)
    module.get_origin()
    line = json.loads(caplog.records[0].message)
    assert line["event"] == "cold_start"
    assert line["codecs"] == {
        "jpg": True,
        "zlib": True,
        "webp": True,
        "avif": True,
        "littlecms2": True,
    }
    assert line["resizer"] == module.resample.engine()


def test_q_auto_is_served_with_the_search_in_timings_and_log(in_process: Origin, caplog):
    caplog.set_level(logging.INFO, logger="image_origin")
    response = in_process.handle(event(f"/{KEY}/w=640,q=auto-good,f=webp"))
    assert response["statusCode"] == 200
    assert "search;dur=" in response["headers"]["Server-Timing"]
    assert decode(body(response)).size == (640, 960)
    line = json.loads(caplog.records[-1].message)
    assert line["ops"] == "w=640,q=auto-good,f=webp" and line["source"] == "rendered"
    assert 1 <= line["quality"] <= 100 and line["score"] >= 80 and 1 <= line["encodes"] <= 4
    stored = in_process.store.get_derived(f"{KEY}/w=640,q=auto-good,f=webp")
    assert stored is not None and stored.body == body(response)
    assert stored.metadata["auto-quality"] == str(line["quality"])
    assert stored.metadata["auto-score"] == f"{line['score']:.1f}"
