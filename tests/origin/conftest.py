"""Shared by the handler's tests: the real function-URL event, seeded buckets, and the
Origin on moto in-process and on moto_server over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import S3Store, build_store
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import FIXTURES, SAMPLES

ORIGINALS, DERIVED = "originals", "derived"
KEY = "portrait-orientation-6.jpg"


def event(raw_path: str, accept: str | None = None, method: str = "GET") -> dict:
    """The real function-URL fixture with another path, Accept and method."""
    e = json.loads((FIXTURES / "function_url_event.json").read_text())
    e["rawPath"] = e["requestContext"]["http"]["path"] = raw_path
    e["requestContext"]["http"]["method"] = method
    if accept is None:
        e["headers"].pop("accept", None)
    else:
        e["headers"]["accept"] = accept
    return e


def body(response: dict) -> bytes:
    assert response["isBase64Encoded"] is True
    return base64.b64decode(response["body"])


def seed(client, *keys: str) -> None:
    client.create_bucket(
        Bucket=ORIGINALS, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.create_bucket(
        Bucket=DERIVED, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    for key in keys:
        client.put_object(Bucket=ORIGINALS, Key=key, Body=(SAMPLES / KEY).read_bytes())


@pytest.fixture
def in_process(aws_env) -> Iterator[Origin]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        seed(client, KEY, "dir/my cat+1.jpg")
        settings = Settings(originals_bucket=ORIGINALS, derived_bucket=DERIVED)
        yield Origin(settings, S3Store(ORIGINALS, DERIVED, client), load_policy())


@pytest.fixture
def over_http(aws_env, moto_server) -> Iterator[Origin]:
    client = boto3.client("s3", endpoint_url=moto_server, region_name="eu-west-1")
    for bucket in (ORIGINALS, DERIVED):  # fresh buckets per test on the shared server
        try:
            keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
            for k in keys:
                client.delete_object(Bucket=bucket, Key=k)
            client.delete_bucket(Bucket=bucket)
        except client.exceptions.NoSuchBucket:
            pass
    seed(client, KEY)
    settings = Settings.from_env(
        {
            "ORIGINALS_BUCKET": ORIGINALS,
            "DERIVED_BUCKET": DERIVED,
            "S3_ENDPOINT_URL": moto_server,
        }
    )
    yield Origin(settings, build_store(settings), load_policy())


@pytest.fixture(params=["in_process", "over_http"])
def origin(request) -> Origin:
    return request.getfixturevalue(request.param)
