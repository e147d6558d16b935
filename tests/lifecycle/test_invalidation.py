"""CloudFront paths, batches and the invalidator's waits: pure functions and moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from origin_handler.lifecycle import invalidation
from origin_handler.lifecycle.invalidation import (
    CloudFrontInvalidator,
    key_paths,
    plan_batches,
)
from origin_handler.lifecycle.purge import invalidate_keys
from origin_handler.policy import load_policy
from origin_handler.variants import Variant, exact_path, validate_key, wildcard_path
from tests.lifecycle.support import (
    CAT,
    CAT_VARIANTS,
    FakeCloudFront,
    aws,  # noqa: F401  (the moto fixture)
    derived_keys,
    invalidated_paths,
    put_derived,
    run_cli,
)

# --------------------------------------------------------------------------- paths


def test_paths_are_the_cache_key_uris_and_wildcards_stop_at_the_key():
    assert exact_path(f"{CAT}/w=640,q=75,f=auto-avif") == "/photos/cat.jpg/w=640,q=75,f=auto-avif"
    # Non-ASCII and unsafe characters are ~XX-escaped exactly as the edge writes the URI.
    assert exact_path("a~20b/~C3~BC~2B~2A.jpg/q=75,f=webp") == "/a~20b/~C3~BC~2B~2A.jpg/q=75,f=webp"
    # "/KEY/*", never "/KEY*" (that would hit /photos/cat.jpg.bak/… too); a "*" in a key is
    # escaped, so it is never a wildcard.
    assert wildcard_path(CAT) == "/photos/cat.jpg/*"
    assert wildcard_path("odd*name.jpg") == "/odd~2Aname.jpg/*"


def test_auto_mode_uses_exact_paths_for_few_variants_and_one_wildcard_for_many():
    few = key_paths(CAT, CAT_VARIANTS, "auto", 3)
    assert few == [exact_path(v) for v in CAT_VARIANTS]
    many = [f"{CAT}/w={w},q=75,f=auto-avif" for w in (16, 32, 48, 64)]
    assert key_paths(CAT, many, "auto", 3) == ["/photos/cat.jpg/*"]
    assert key_paths(CAT, [], "auto", 3) == []
    assert key_paths(CAT, [], "wildcard", 3) == ["/photos/cat.jpg/*"]
    assert len(key_paths(CAT, many, "exact", 3)) == 4


def test_batches_respect_cloudfront_in_progress_limits():
    wild = [f"/k{i}.jpg/*" for i in range(40)]
    exact = [f"/k{i}.jpg/q=75,f=webp" for i in range(3500)]
    batches = plan_batches(exact + wild + wild[:3])  # duplicates collapse
    assert [len(b) for b in batches] == [3000, 500, 15, 15, 10]
    assert all(not p.endswith("*") for b in batches[:2] for p in b)
    assert all(p.endswith("*") for b in batches[2:] for p in b)

    # Sent to a CloudFront that enforces the limits (3,000 exact, 15 wildcard in progress)
    # and completes an invalidation on its second poll: no request is ever refused, because
    # each batch is sent only once its kind has room.
    cloudfront = FakeCloudFront(polls_to_complete=2)
    slept: list[float] = []
    invalidator = CloudFrontInvalidator(cloudfront, "E2FAKE", poll_seconds=0, sleep=slept.append)
    report = invalidator.run(exact + wild + wild[:3], "ref")
    assert report.ok and cloudfront.refused == 0
    events = [(e[0], e[1], len(e[2])) if e[0] == "created" else e for e in cloudfront.journal]
    assert events == [
        ("created", "I1", 3000),
        ("completed", "I1"),  # 3,000 + 500 > 3,000: the second exact batch waits for the first
        ("created", "I2", 500),
        ("created", "I3", 15),  # wildcards have their own limit: no wait for I2
        ("completed", "I3"),
        ("created", "I4", 15),
        ("completed", "I4"),
        ("created", "I5", 10),
    ]
    assert slept  # it polled, slept and polled again while waiting


def test_longest_possible_variant_path_fits_cloudfront():
    # The edge refuses a key whose ~XX-escaped form is over max_key_bytes (960), and that
    # form is both the derived key and the path: at most 1 + 960 + 1 + the longest ops, far
    # below CloudFront's 4,000-character path limit, so there is no fallback for long paths.
    policy = load_policy()
    key = "/".join(["€" * 10] * 10) + "/" + "a" * 50  # "€" is "~E2~82~AC": 10 × 91 + 50
    variant = Variant(validate_key(key, policy), 3840, 3840, "contain", 100, "avif", True)
    assert len(variant.derived_key) - len(variant.ops) - 1 == policy.max_key_bytes
    assert len(variant.derived_key.encode()) <= 1024  # S3's key limit
    assert exact_path(variant.derived_key) == variant.canonical_uri
    assert len(variant.canonical_uri) <= 1 + 960 + 1 + len(variant.ops) < 4000


# --------------------------------------------------------------------------- moto


def test_hundreds_of_keys_go_out_as_wildcard_batches_of_15_waiting_in_between(aws):  # noqa: F811
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    keys = [f"gallery/img-{i:03}.jpg" for i in range(40)]
    put_derived(s3, [f"{k}/w={w},q=75,f=auto-avif" for k in keys for w in (256, 640, 1080, 1920)])
    waited: list[str] = []
    invalidator = CloudFrontInvalidator(cf, dist, poll_seconds=0)
    real_wait = invalidator.wait
    invalidator.wait = lambda ids, deadline=None: waited.extend(ids) or real_wait(ids, deadline)

    report = invalidate_keys(aws["store"], invalidator, keys, wait=True)

    assert report.ok and derived_keys(s3) == []
    batches = invalidated_paths(cf, dist)
    assert [len(b) for b in batches] == [15, 15, 10]
    assert sorted(p for b in batches for p in b) == sorted(f"/{k}/*" for k in keys)
    # Each later wildcard batch waited for the previous one; --wait then waited for all.
    ids = [s.id for s in report.cdn.submitted]
    assert waited[:2] == ids[:2] and waited[2:] == ids
    assert all(s.status.lower() == "completed" for s in report.cdn.submitted)


class BusyOnce:
    """The moto CloudFront client, answering TooManyInvalidationsInProgress once."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.refused = 0

    def create_invalidation(self, **kw: Any) -> Any:
        if not self.refused:
            self.refused += 1
            error = {"Error": {"Code": "TooManyInvalidationsInProgress", "Message": "busy"}}
            raise ClientError(error, "CreateInvalidation")
        return self.client.create_invalidation(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_too_many_in_progress_waits_and_retries(aws):  # noqa: F811
    cf, dist = aws["cf"], aws["dist"]
    busy = BusyOnce(cf)
    slept: list[float] = []
    invalidator = CloudFrontInvalidator(busy, dist, poll_seconds=0.01, sleep=slept.append)
    report = invalidator.run(["/photos/cat.jpg/*"], "ref")
    assert report.ok and busy.refused == 1 and slept  # nothing in progress: it slept, retried
    assert invalidated_paths(cf, dist) == [["/photos/cat.jpg/*"]]
    # In a Lambda (patient=False) the refusal is an error the caller turns into an SQS retry.
    with pytest.raises(invalidation.InvalidationFailed, match="TooManyInvalidationsInProgress"):
        CloudFrontInvalidator(BusyOnce(cf), dist).submit(["/x/*"], "r2", patient=False)


class BrokenReads:
    """The moto CloudFront client, whose read calls fail like an expired token or a network."""

    def __init__(self, client: Any, error: Exception) -> None:
        self.client = client
        self.error = error

    def get_invalidation(self, **kw: Any) -> Any:
        raise self.error

    def list_invalidations(self, **kw: Any) -> Any:
        raise self.error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_failing_wait_is_reported_with_the_json_and_exit_1(aws, monkeypatch, capsys):  # noqa: F811
    put_derived(aws["s3"], CAT_VARIANTS)
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetInvalidation")

    def create(cls, dist, endpoint_url=None, **kw):
        return cls(BrokenReads(aws["cf"], denied), dist, poll_seconds=0, **kw)

    monkeypatch.setattr(CloudFrontInvalidator, "create", classmethod(create))
    assert run_cli("invalidate", [CAT, "--wait", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and len(out["invalidations"]) == 1  # accepted, then the wait failed
    assert out["keys"][0]["deleted"] == 3 and out["paths_not_invalidated"] == []
    assert "get_invalidation: AccessDenied" in out["invalidation_error"]

    # Text output: says the paths were accepted, does not list any as not invalidated.
    put_derived(aws["s3"], CAT_VARIANTS)
    assert run_cli("invalidate", [CAT, "--wait"]) == 1
    text = capsys.readouterr().out
    assert "only waiting for them failed" in text and "NOT invalidated" not in text


def test_waiting_out_a_busy_cloudfront_that_cannot_be_listed_fails_cleanly(aws):  # noqa: F811
    unreachable = EndpointConnectionError(endpoint_url="https://cloudfront.amazonaws.com")
    invalidator = CloudFrontInvalidator(BusyOnce(BrokenReads(aws["cf"], unreachable)), aws["dist"])
    report = invalidator.run(["/photos/cat.jpg/*"], "ref")
    assert not report.ok and report.submitted == []
    assert "list_invalidations: cloudfront unreachable" in report.error
    assert report.not_submitted == ["/photos/cat.jpg/*"]
