"""The events function: real S3/SQS event JSON, moto S3 + SQS + CloudFront."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from origin_handler import logs
from origin_handler.errors import StorageUnavailable
from origin_handler.lifecycle import lambda_function
from origin_handler.lifecycle.events import EventProcessor, Outcome
from origin_handler.lifecycle.invalidation import CloudFrontInvalidator
from origin_handler.lifecycle.lambda_function import lambda_handler
from origin_handler.lifecycle.records import S3Record
from origin_handler.policy import load_policy
from origin_handler.settings import Settings, SettingsError
from origin_handler.variants import exact_path
from tests.conftest import FIXTURES, decode, reset_buckets
from tests.lifecycle.support import (
    CAT,
    CAT_VARIANTS,
    DERIVED,
    ORIGINALS,
    SURVIVORS,
    CountingStore,
    FakeCloudFront,
    aws,  # noqa: F401  (the moto fixture)
    derived_keys,
    distribution_config,
    invalidated_paths,
    put_derived,
    tiny_jpeg,
)
from tests.stall_proxy import StallingProxy


def fixture(name: str) -> dict[str, Any]:
    """A stored event."""
    return json.loads((FIXTURES / name).read_text())


def sqs_event(*bodies: Any, receive_count: str = "1") -> dict[str, Any]:
    """An SQS batch (shaped like the fixture) carrying these bodies."""
    template = fixture("sqs_s3_batch_event.json")["Records"][1]
    records = []
    for n, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{n}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["attributes"]["ApproximateReceiveCount"] = receive_count
        records.append(record)
    return {"Records": records}


class Lines(logging.Handler):
    """Collects the JSON lines written on the image_origin logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(ValueError):
            self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    handler = Lines()
    logs.logger.addHandler(handler)
    previous = logs.logger.level
    logs.logger.setLevel(logging.DEBUG)
    yield handler.lines
    logs.logger.removeHandler(handler)
    logs.logger.setLevel(previous)


def processor(aws: dict[str, Any], **settings: Any) -> EventProcessor:  # noqa: F811
    """An EventProcessor on the moto buckets and distribution."""
    config = Settings(originals_bucket=ORIGINALS, derived_bucket=DERIVED, **settings)
    invalidator = CloudFrontInvalidator(aws["cf"], aws["dist"], poll_seconds=0)
    return EventProcessor(config, aws["store"], load_policy(), invalidator)


# --------------------------------------------------------------------------- fixtures


def test_fixtures_decode_keys_like_s3_encodes_them(aws, log_lines):  # noqa: F811
    record = fixture("s3_put_event_encoded_key.json")["Records"][0]
    s3_record = S3Record.from_dict(record)
    assert s3_record.key == "photos/red flower ü.jpg"  # "+" is a space, %C3%BC is ü
    assert s3_record.event_name == "ObjectCreated:CompleteMultipartUpload"
    outcome = Outcome(s3_record)
    processor(aws).process(s3_record, outcome, "ref", retry=False)
    assert outcome.status == "ok" and outcome.log_fields()["key"] == "photos/red flower ü.jpg"


def test_direct_s3_invocation_is_handled_too(aws, log_lines):  # noqa: F811
    put_derived(aws["s3"], CAT_VARIANTS)
    assert processor(aws).handle(fixture("s3_put_event.json")) == {"batchItemFailures": []}
    assert derived_keys(aws["s3"]) == []
    assert log_lines[-1]["source"] == "s3" and log_lines[-1]["status"] == "ok"


# --------------------------------------------------------------------------- flows


def test_overwrite_purges_and_invalidates_only_that_original(aws, log_lines):  # noqa: F811
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    put_derived(s3, CAT_VARIANTS + SURVIVORS)

    answer = processor(aws).handle(fixture("sqs_s3_batch_event.json"))

    assert answer == {"batchItemFailures": []}
    assert derived_keys(s3) == sorted(SURVIVORS)
    assert invalidated_paths(cf, dist) == [[exact_path(k) for k in sorted(CAT_VARIANTS)]]
    # One line per record: the test event, the put, the (space-named) upload, the delete.
    assert [(line.get("event"), line["status"]) for line in log_lines] == [
        ("s3:TestEvent", "ignored"),
        ("ObjectCreated:Put", "ok"),
        ("ObjectCreated:CompleteMultipartUpload", "ok"),
        ("ObjectRemoved:Delete", "ok"),
    ]
    put = log_lines[1]
    assert (put["key"], put["found"], put["deleted"]) == (CAT, 3, 3)
    assert put["message_id"] == "2e1424d4-f796-459a-8184-9c92662be6da" and put["invalidation"]


def test_redelivered_message_does_no_harm(aws, log_lines):  # noqa: F811
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    put_derived(s3, CAT_VARIANTS)
    proc = processor(aws)
    event = sqs_event(fixture("s3_put_event.json"))
    assert proc.handle(event) == {"batchItemFailures": []}
    assert proc.handle(event) == {"batchItemFailures": []}  # same delivery again: nothing left
    assert len(invalidated_paths(cf, dist)) == 1

    # A genuine retry (receive count 2) after the variants are gone invalidates /KEY/*, in case
    # the first try deleted them and died before CloudFront accepted its invalidation.
    retry = sqs_event(fixture("s3_put_event.json"), receive_count="2")
    assert proc.handle(retry) == {"batchItemFailures": []}
    assert invalidated_paths(cf, dist)[-1] == ["/photos/cat.jpg/*"]


class FlakyDeletes:
    """The moto store whose first delete fails (raises, or refuses one key); deletes journaled."""

    def __init__(self, inner: Any, journal: list[tuple], refuse_one: bool) -> None:
        self.inner, self.journal, self.refuse_one = inner, journal, refuse_one
        self.failed_once = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete_derived(self, keys: Any) -> list[str]:
        keys = list(keys)
        if self.failed_once:
            self.journal.append(("deleted", keys))
            return self.inner.delete_derived(keys)
        self.failed_once = True
        if not self.refuse_one:
            self.journal.append(("delete failed", keys))
            raise StorageUnavailable("storage is busy, try again")
        self.journal.append(("deleted", keys[1:]))
        return [keys[0], *self.inner.delete_derived(keys[1:])]


@pytest.mark.parametrize("refuse_one", [False, True], ids=["delete-raises", "one-refused"])
def test_failed_delete_then_retry_invalidates_after_the_delete(aws, log_lines, refuse_one):  # noqa: F811
    s3 = aws["s3"]
    put_derived(s3, CAT_VARIANTS)
    journal: list[tuple] = []
    cloudfront = FakeCloudFront(journal)  # deduplicates by CallerReference, as CloudFront does
    proc = processor(aws)
    proc.store = FlakyDeletes(aws["store"], journal, refuse_one)
    proc.invalidator = CloudFrontInvalidator(cloudfront, "E2FAKE", poll_seconds=0)

    first = proc.handle(sqs_event(fixture("s3_put_event.json")))
    assert first == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    # Nothing invalidated while a stale variant is still stored: an invalidation now would
    # only let it be re-cached, and the retry's identical request would get this one back.
    assert cloudfront.created == []
    assert log_lines[-1]["status"] == "failed" and "invalidation" not in log_lines[-1]

    retry = proc.handle(sqs_event(fixture("s3_put_event.json"), receive_count="2"))
    assert retry == {"batchItemFailures": []}
    assert derived_keys(s3) == []
    # The invalidation is created after the delete that succeeded, and /KEY/* also covers
    # whatever the failed attempt did delete.
    assert journal[-2][0] == "deleted"
    assert journal[-1] == ("created", "I1", ["/photos/cat.jpg/*"])
    assert log_lines[-1]["invalidation"] == "I1"

    # A later retry of the same message gets an invalidation of its own, not I1 back.
    assert proc.handle(sqs_event(fixture("s3_put_event.json"), receive_count="3")) == {
        "batchItemFailures": []
    }
    assert [entry[1] for entry in journal if entry[0] == "created"] == ["I1", "I2"]


def test_one_poison_message_is_the_only_one_reported(aws, log_lines):  # noqa: F811
    s3 = aws["s3"]
    put_derived(s3, CAT_VARIANTS)
    missing_s3 = {"Records": [{"eventName": "ObjectCreated:Put"}]}
    event = sqs_event(fixture("s3_test_event.json"), "{not json", fixture("s3_put_event.json"))
    event["Records"].append(sqs_event(missing_s3)["Records"][0] | {"messageId": "msg-3"})

    answer = processor(aws).handle(event)

    assert answer == {
        "batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-3"}]
    }
    assert derived_keys(s3) == []  # the good message after the poison one was processed
    failed = [line for line in log_lines if line["status"] == "failed"]
    assert [line["message_id"] for line in failed] == ["msg-1", "msg-3"]
    assert "unreadable body" in failed[0]["error"]


def test_cloudfront_refusal_fails_the_message_for_a_retry(aws, log_lines):  # noqa: F811
    put_derived(aws["s3"], CAT_VARIANTS)
    proc = processor(aws)
    proc.invalidator = CloudFrontInvalidator(aws["cf"], "ENOSUCHDIST")
    answer = proc.handle(sqs_event(fixture("s3_put_event.json")))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert "NoSuchDistribution" in log_lines[-1]["error"]


def test_create_warms_the_negotiated_variants(aws, log_lines):  # noqa: F811
    s3 = aws["s3"]
    s3.put_object(Bucket=ORIGINALS, Key=CAT, Body=tiny_jpeg())
    put_derived(s3, [f"{CAT}/w=64,q=75,f=auto-avif"])  # stale: rendered from the old original
    proc = processor(aws, warm_widths=(64, 128))

    assert proc.handle(sqs_event(fixture("s3_put_event.json"))) == {"batchItemFailures": []}

    expected = sorted(
        f"{CAT}/w={w},q=75,f=auto-{f}" for w in (64, 128) for f in ("avif", "orig", "webp")
    )
    assert derived_keys(s3) == expected
    body = s3.get_object(Bucket=DERIVED, Key=f"{CAT}/w=128,q=75,f=auto-webp")["Body"].read()
    assert decode(body).format == "WEBP" and decode(body).size == (128, 80)
    assert (log_lines[-1]["deleted"], log_lines[-1]["warmed"]) == (1, 6)


def test_warm_reads_each_original_once_and_a_failed_write_is_retried(aws, log_lines):  # noqa: F811
    s3 = aws["s3"]
    dog = "photos/dog.jpg"
    for key in (CAT, dog):
        s3.put_object(Bucket=ORIGINALS, Key=key, Body=tiny_jpeg())
    proc = processor(aws, warm_widths=(64, 128))
    store = CountingStore(aws["store"], fail_put=lambda key: key.startswith(f"{dog}/"))
    proc.store = store
    dog_put = fixture("s3_put_event.json")
    dog_put["Records"][0]["s3"]["object"]["key"] = dog

    answer = proc.handle(sqs_event(fixture("s3_put_event.json"), dog_put))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert store.originals_read == [CAT, dog]  # one GET per original, not one per variant
    assert len([k for k in derived_keys(s3) if k.startswith(f"{CAT}/")]) == 6
    cat_line, dog_line = log_lines[-2:]
    assert (cat_line["status"], cat_line["warmed"]) == ("ok", 6)
    assert dog_line["status"] == "failed" and dog_line["warmed"] == 0
    reasons = list(dog_line["warm_failed"].values())
    assert len(reasons) == 6 and all(r.startswith("502 rendered but not stored") for r in reasons)


def test_undecodable_upload_is_logged_and_acknowledged(aws, log_lines):  # noqa: F811
    aws["s3"].put_object(Bucket=ORIGINALS, Key=CAT, Body=b"GIF89a but not really")
    proc = processor(aws, warm_widths=(64,))
    assert proc.handle(sqs_event(fixture("s3_put_event.json"))) == {"batchItemFailures": []}
    line = log_lines[-1]
    assert line["status"] == "ok-unrenderable" and len(line["warm_failed"]) == 3
    assert all(reason.startswith("4") for reason in line["warm_failed"].values())


def test_other_buckets_and_other_events_are_ignored(aws, log_lines):  # noqa: F811
    put_derived(aws["s3"], CAT_VARIANTS)
    derived_put = fixture("s3_put_event.json")
    derived_put["Records"][0]["s3"]["bucket"]["name"] = DERIVED  # a mis-wired notification
    restore = fixture("s3_put_event.json")
    restore["Records"][0]["eventName"] = "ObjectRestore:Completed"
    answer = processor(aws).handle(sqs_event(derived_put, restore))
    assert answer == {"batchItemFailures": []}
    assert derived_keys(aws["s3"]) == sorted(CAT_VARIANTS)
    assert [line["status"] for line in log_lines] == ["ignored", "ignored"]


def test_bad_warm_settings_fail_at_cold_start(aws):  # noqa: F811
    with pytest.raises(SettingsError, match="641"):
        processor(aws, warm_widths=(641,))


# --------------------------------------------------------------------------- end to end


def test_s3_notification_through_sqs_to_lambda_handler(aws, monkeypatch, log_lines):  # noqa: F811
    """Moto's S3 sends its own notifications to a real (moto) queue; the handler reads them."""
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="image-origin-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=ORIGINALS,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
            ]
        },
    )
    key = "photos/red flower.jpg"
    escaped = "photos/red~20flower.jpg"  # derived keys are the ~XX-escaped canonical URIs
    s3.put_object(Bucket=ORIGINALS, Key=key, Body=tiny_jpeg())
    put_derived(s3, [f"{escaped}/w=640,q=75,f=auto-avif", f"{escaped}.bak/w=640,q=75,f=auto-avif"])
    s3.put_object(Bucket=ORIGINALS, Key=key, Body=tiny_jpeg((0, 0, 0)))  # overwrite
    monkeypatch.setenv("WARM_WIDTHS", "64")
    monkeypatch.setenv("WARM_FORMATS", "auto-avif")
    monkeypatch.setattr(lambda_function, "_processor", None)  # a cold start under this environment

    answer = lambda_handler(lambda_sqs_event(sqs, queue, arn), None)

    assert answer == {"batchItemFailures": []}
    assert derived_keys(s3) == [
        f"{escaped}.bak/w=640,q=75,f=auto-avif",
        f"{escaped}/w=64,q=75,f=auto-avif",
    ]
    assert ["/photos/red~20flower.jpg/w=640,q=75,f=auto-avif"] in invalidated_paths(cf, dist)
    assert log_lines[0]["event"] == "s3:TestEvent"
    assert {line.get("key") for line in log_lines[1:]} == {key}
    assert lambda_function.get_processor() is lambda_function.get_processor()  # built once


def lambda_sqs_event(sqs: Any, queue: str, arn: str) -> dict[str, Any]:
    """Receive every message and shape it the way the event source mapping hands it over."""
    records = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])
        if not got.get("Messages"):
            return {"Records": records}
        for m in got["Messages"]:
            records.append(
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
            )


# --------------------------------------------------------------------------- redelivery


@pytest.fixture
def over_http(aws_env, moto_server, monkeypatch) -> Iterator[dict[str, Any]]:
    """The events Lambda cold-started against moto_server (S3 and CloudFront) over HTTP.

    Both endpoints go through a pass-through proxy whose request log counts what reached
    moto_server; CloudFront's endpoint is boto3's own AWS_ENDPOINT_URL_CLOUDFRONT.
    """
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="eu-west-1")
    reset_buckets(s3, ORIGINALS, DERIVED)
    cf = boto3.client("cloudfront", endpoint_url=moto_server, region_name="us-east-1")
    config = {**distribution_config(), "CallerReference": f"redelivery-{uuid.uuid4()}"}
    dist = cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    proxy = StallingProxy(moto_server, stall=lambda line: False)
    env = {
        "ORIGINALS_BUCKET": ORIGINALS,
        "DERIVED_BUCKET": DERIVED,
        "S3_ENDPOINT_URL": proxy.url,
        "AWS_ENDPOINT_URL_CLOUDFRONT": proxy.url,
        "DISTRIBUTION_ID": dist,
        "WARM_WIDTHS": "64,128",
        "WARM_FORMATS": "auto",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("ORIGINALS_DIR", "DERIVED_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lambda_function, "_processor", None)  # a cold start
    yield {"s3": s3, "cf": cf, "dist": dist, "requests": proxy.forwarded}
    proxy.close()


def calls(requests: list[str]) -> dict[str, int]:
    """The request lines that reached moto_server, counted as S3 reads/writes and CloudFront."""
    cloudfront = [r for r in requests if "/distribution/" in r]
    s3 = [r for r in requests if r not in cloudfront]
    writes = [r for r in s3 if r.split(" ", 1)[0] in ("PUT", "POST", "DELETE")]
    return {
        "s3_writes": len(writes),
        "s3_reads": len(s3) - len(writes),
        "cloudfront": len(cloudfront),
    }


def test_redelivered_create_makes_no_s3_write_and_no_cloudfront_call(over_http, log_lines):
    s3, requests = over_http["s3"], over_http["requests"]
    s3.put_object(Bucket=ORIGINALS, Key=CAT, Body=tiny_jpeg())
    put_derived(s3, [f"{CAT}/w=64,q=75,f=auto-avif"])  # rendered before: records no source
    event = sqs_event(fixture("s3_put_event.json"))
    warmed = sorted(
        f"{CAT}/w={w},q=75,f=auto-{f}" for w in (64, 128) for f in ("avif", "orig", "webp")
    )

    assert lambda_handler(event, None) == {"batchItemFailures": []}
    first = calls(requests)
    assert first["s3_writes"] == 7  # one DeleteObjects (the stale variant) + 6 warmed PUTs
    assert first["cloudfront"] == 1  # one invalidation: the stale variant's path
    assert derived_keys(s3) == warmed
    assert (log_lines[-1]["deleted"], log_lines[-1]["warmed"]) == (1, 6)

    # The same message again (SQS delivers at least once), then as a retry after a timeout.
    for receive_count in ("1", "2"):
        requests.clear()
        redelivered = sqs_event(fixture("s3_put_event.json"), receive_count=receive_count)
        assert lambda_handler(redelivered, None) == {"batchItemFailures": []}
        again = calls(requests)
        assert (again["s3_writes"], again["cloudfront"]) == (0, 0), requests
        line = log_lines[-1]
        assert (line["deleted"], line["kept"], line["warmed"], line["paths"]) == (0, 6, 0, [])
    assert derived_keys(s3) == warmed
    assert len(invalidated_paths(over_http["cf"], over_http["dist"])) == 1

    # A real overwrite still purges every variant of the old original, and re-warms.
    s3.put_object(Bucket=ORIGINALS, Key=CAT, Body=tiny_jpeg((0, 0, 0)))
    requests.clear()
    overwrite = sqs_event(fixture("s3_put_event.json"))
    overwrite["Records"][0]["messageId"] = "msg-overwrite"
    assert lambda_handler(overwrite, None) == {"batchItemFailures": []}
    line = log_lines[-1]
    assert (line["deleted"], line["kept"], line["warmed"]) == (6, 0, 6)
    assert line["paths"] == ["/photos/cat.jpg/*"] and calls(requests)["cloudfront"] == 1
    body = s3.get_object(Bucket=DERIVED, Key=f"{CAT}/w=64,q=75,f=auto-orig")["Body"].read()
    assert decode(body).getpixel((60, 35)) == pytest.approx((0, 0, 0), abs=8)
