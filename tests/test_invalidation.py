"""CloudFront paths, batches and the invalidator's waits: pure functions and moto."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from origin_handler import invalidation
from origin_handler.invalidation import (
    CloudFrontInvalidator,
    exact_path,
    key_paths,
    plan_batches,
    wildcard_path,
)
from origin_handler.lifecycle import invalidate_keys
from tests.lifecycle_support import (
    CAT,
    CAT_VARIANTS,
    aws,  # noqa: F401  (the moto fixture)
    derived_keys,
    invalidated_paths,
    put_derived,
)

# --------------------------------------------------------------------------- paths


def test_paths_are_the_cache_key_uris_and_wildcards_stop_at_the_key():
    assert exact_path(f"{CAT}/w=640,q=75,f=auto-avif") == "/photos/cat.jpg/w=640,q=75,f=auto-avif"
    # Non-ASCII and unsafe characters are percent-encoded exactly as the edge writes the URI.
    assert exact_path("a b/ü+*.jpg/q=75,f=webp") == "/a%20b/%C3%BC%2B%2A.jpg/q=75,f=webp"
    # "/KEY/*", never "/KEY*" (that would hit /photos/cat.jpg.bak/… too); a "*" in a key is
    # encoded, so it is never a wildcard.
    assert wildcard_path(CAT) == "/photos/cat.jpg/*"
    assert wildcard_path("odd*name.jpg") == "/odd%2Aname.jpg/*"


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


# --------------------------------------------------------------------------- moto


def test_hundreds_of_keys_go_out_as_wildcard_batches_of_15_waiting_in_between(aws):  # noqa: F811
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    keys = [f"gallery/img-{i:03}.jpg" for i in range(40)]
    put_derived(s3, [f"{k}/w={w},q=75,f=auto-avif" for k in keys for w in (256, 640, 1080, 1920)])
    waited: list[str] = []
    invalidator = CloudFrontInvalidator(cf, dist, poll_seconds=0)
    real_wait = invalidator.wait
    invalidator.wait = lambda ids, deadline=None: waited.extend(ids) or real_wait(ids, deadline)

    report = invalidate_keys(aws["store"], invalidator, keys, wait=True, progress=False)

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
