"""Shared by the invalidation, lifecycle, warm and events tests: moto S3 + CloudFront, keys, CLI."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image

from origin_handler.cli import COMMANDS
from origin_handler.errors import StorageUnavailable
from origin_handler.origin.storage import ImageStore, S3Store
from tests.conftest import encode

ORIGINALS = "image-origin-originals"
DERIVED = "image-origin-derived"
CAT = "photos/cat.jpg"
CAT_VARIANTS = [
    f"{CAT}/w=640,q=75,f=auto-avif",
    f"{CAT}/w=640,q=75,f=auto-webp",
    f"{CAT}/w=1080,q=75,f=auto-orig",
]
SURVIVORS = [
    "photos/cat.jpg.bak/w=640,q=75,f=auto-avif",  # a sibling whose name starts with the key
    "photos/cat.jpg/x.jpg/w=640,q=75,f=auto-avif",  # a variant of a deeper original
    "photos/cathedral.png/w=640,q=75,f=auto-webp",
]


def tiny_jpeg(colour: tuple[int, int, int] = (200, 60, 30)) -> bytes:
    """A small real JPEG (keeps renders fast)."""
    im = Image.new("RGB", (320, 200), colour)
    im.paste((20, 90, 200), (0, 0, 160, 100))
    return encode(im, "JPEG", quality=90)


def run_cli(command: str, argv: list[str]) -> int:
    """Parse argv with the command's own options and run it (as `image-origin` does)."""
    _, add_arguments, run = COMMANDS[command]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(argv))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto S3 + CloudFront with both buckets and a distribution; env wired like Lambda's."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("ORIGINALS_DIR", "DERIVED_DIR", "S3_ENDPOINT_URL", "WARM_WIDTHS", "WARM_FORMATS"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=ORIGINALS)
        s3.create_bucket(Bucket=DERIVED)
        cf = boto3.client("cloudfront")
        dist = cf.create_distribution(DistributionConfig=distribution_config())["Distribution"]
        monkeypatch.setenv("ORIGINALS_BUCKET", ORIGINALS)
        monkeypatch.setenv("DERIVED_BUCKET", DERIVED)
        monkeypatch.setenv("DISTRIBUTION_ID", dist["Id"])
        yield {"s3": s3, "cf": cf, "dist": dist["Id"], "store": S3Store(ORIGINALS, DERIVED, s3)}


def distribution_config() -> dict[str, Any]:
    """The smallest distribution moto accepts."""
    return {
        "CallerReference": "image-origin-tests",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "derived",
                    "DomainName": f"{DERIVED}.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "derived",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }


def put_derived(s3: Any, keys: list[str]) -> None:
    """Stored variants (content does not matter to purging)."""
    for key in keys:
        s3.put_object(Bucket=DERIVED, Key=key, Body=b"variant", ContentType="image/avif")


def derived_keys(s3: Any) -> list[str]:
    """Everything in the derived bucket."""
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=DERIVED).get("Contents", []))


def invalidated_paths(cf: Any, dist: str) -> list[list[str]]:
    """The paths of every invalidation created, oldest first."""
    items = cf.list_invalidations(DistributionId=dist)["InvalidationList"].get("Items", [])
    batches = []
    for item in sorted(items, key=lambda i: i["CreateTime"]):
        inv = cf.get_invalidation(DistributionId=dist, Id=item["Id"])["Invalidation"]
        batches.append(inv["InvalidationBatch"]["Paths"]["Items"])
    return batches


class CountingStore:
    """A store wrapper that counts calls per method and can fail writes of chosen keys."""

    def __init__(
        self, inner: ImageStore, fail_put: Callable[[str], bool] = lambda key: False
    ) -> None:
        self.inner = inner
        self.fail_put = fail_put
        self.calls: Counter[str] = Counter()
        self.originals_read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "get_original":
                self.originals_read.append(args[0])
            if name == "put_derived" and self.fail_put(args[0]):
                raise StorageUnavailable("storage is busy, try again")
            return method(*args, **kwargs)

        return counted


class FakeCloudFront:
    """CloudFront's invalidation API where moto differs from it.

    * A repeated CallerReference with the same paths returns the *existing* invalidation
      (nothing new is created); with other paths it is refused (InvalidationBatchAlreadyExists).
    * An invalidation stays InProgress until it has been polled ``polls_to_complete`` times.
    * At most 3,000 exact and 15 wildcard paths may be in progress
      (TooManyInvalidationsInProgress, counted in ``refused``).

    ``journal`` (shared with other fakes) records ``("created", id, paths)`` and
    ``("completed", id)`` in the order they happen.
    """

    def __init__(self, journal: list[tuple] | None = None, polls_to_complete: int = 1) -> None:
        self.journal = journal if journal is not None else []
        self.polls_to_complete = polls_to_complete
        self.invalidations: dict[str, dict[str, Any]] = {}
        self.refused = 0

    def create_invalidation(self, DistributionId: str, InvalidationBatch: dict) -> Any:
        reference = InvalidationBatch["CallerReference"]
        paths = list(InvalidationBatch["Paths"]["Items"])
        for inv in self.invalidations.values():
            if inv["reference"] == reference:
                if inv["paths"] != paths:
                    raise _client_error("InvalidationBatchAlreadyExists", "CreateInvalidation")
                return {"Invalidation": self._view(inv)}
        busy = [
            p for i in self.invalidations.values() if i["status"] != "Completed" for p in i["paths"]
        ]
        wild = sum(p.endswith("*") for p in busy + paths)
        if wild > 15 or len(busy) + len(paths) - wild > 3000:
            self.refused += 1
            raise _client_error("TooManyInvalidationsInProgress", "CreateInvalidation")
        inv_id = f"I{len(self.invalidations) + 1}"
        self.invalidations[inv_id] = {
            "id": inv_id,
            "reference": reference,
            "paths": paths,
            "status": "InProgress",
            "polls": 0,
        }
        self.journal.append(("created", inv_id, paths))
        return {"Invalidation": self._view(self.invalidations[inv_id])}

    def get_invalidation(self, DistributionId: str, Id: str) -> Any:
        inv = self.invalidations[Id]
        inv["polls"] += 1
        if inv["status"] != "Completed" and inv["polls"] >= self.polls_to_complete:
            inv["status"] = "Completed"
            self.journal.append(("completed", Id))
        return {"Invalidation": self._view(inv)}

    def list_invalidations(self, DistributionId: str) -> Any:
        items = [{"Id": i["id"], "Status": i["status"]} for i in self.invalidations.values()]
        return {"InvalidationList": {"Items": items, "Quantity": len(items)}}

    @property
    def created(self) -> list[list[str]]:
        """The paths of every invalidation created, oldest first."""
        return [inv["paths"] for inv in self.invalidations.values()]

    @staticmethod
    def _view(inv: dict[str, Any]) -> dict[str, Any]:
        batch = {"Paths": {"Quantity": len(inv["paths"]), "Items": inv["paths"]}}
        return {"Id": inv["id"], "Status": inv["status"], "InvalidationBatch": batch}


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)
