"""Purge, invalidate and warm: against moto (S3 + CloudFront) and the real local endpoint."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image

from origin_handler import lifecycle
from origin_handler.edge import Edge
from origin_handler.handler import Origin
from origin_handler.lifecycle import (
    CloudFrontInvalidator,
    exact_path,
    invalidate_keys,
    key_paths,
    plan_batches,
    purge_key,
    warm_keys,
    wildcard_path,
)
from origin_handler.policy import load_policy
from origin_handler.server import make_server
from origin_handler.settings import Settings
from origin_handler.storage import LocalStore, S3Store, StoredObject
from tests.conftest import SAMPLES, decode, encode

ORIGINALS = "image-origin-originals"
DERIVED = "image-origin-derived"
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
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
    parser = argparse.ArgumentParser()
    getattr(lifecycle, f"add_{command}_arguments")(parser)
    return getattr(lifecycle, f"run_{command}")(parser.parse_args(argv))


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


def test_overwrite_purges_exactly_that_originals_variants_and_invalidates_them(aws):
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    put_derived(s3, CAT_VARIANTS + SURVIVORS)
    invalidator = CloudFrontInvalidator(cf, dist, poll_seconds=0)

    report = invalidate_keys(aws["store"], invalidator, [CAT], progress=False)

    assert report.ok
    assert derived_keys(s3) == sorted(SURVIVORS)
    assert invalidated_paths(cf, dist) == [[exact_path(k) for k in sorted(CAT_VARIANTS)]]
    assert report.as_json()["keys"][0]["deleted"] == 3

    # Idempotent: a second run finds nothing, deletes nothing and pays for no path.
    again = invalidate_keys(aws["store"], invalidator, [CAT], progress=False)
    assert again.ok and again.keys[0].found == [] and again.cdn.submitted == []
    assert len(invalidated_paths(cf, dist)) == 1


def test_hundreds_of_keys_go_out_as_wildcard_batches_of_15_waiting_in_between(aws):
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


def test_too_many_in_progress_waits_and_retries(aws):
    cf, dist = aws["cf"], aws["dist"]
    busy = BusyOnce(cf)
    slept: list[float] = []
    invalidator = CloudFrontInvalidator(busy, dist, poll_seconds=0.01, sleep=slept.append)
    report = invalidator.run(["/photos/cat.jpg/*"], "ref")
    assert report.ok and busy.refused == 1 and slept  # nothing in progress: it slept, retried
    assert invalidated_paths(cf, dist) == [["/photos/cat.jpg/*"]]
    # In a Lambda (patient=False) the refusal is an error the caller turns into an SQS retry.
    with pytest.raises(lifecycle.InvalidationFailed, match="TooManyInvalidationsInProgress"):
        CloudFrontInvalidator(BusyOnce(cf), dist).submit(["/x/*"], "r2", patient=False)


def test_cli_reports_what_was_and_was_not_done_and_exits_non_zero(aws, capsys):
    s3 = aws["s3"]
    put_derived(s3, CAT_VARIANTS)
    code = run_cli("invalidate", [CAT, "--distribution-id", "ENOSUCHDIST", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False
    assert out["keys"][0]["deleted"] == 3 and derived_keys(s3) == []  # this part was done
    assert "NoSuchDistribution" in out["invalidation_error"]
    assert out["paths_not_invalidated"] == [exact_path(k) for k in sorted(CAT_VARIANTS)]

    # The recovery the message suggests: wildcard paths even though nothing is listed now.
    assert run_cli("invalidate", [CAT, "--paths", "wildcard"]) == 0
    assert invalidated_paths(aws["cf"], aws["dist"]) == [["/photos/cat.jpg/*"]]
    assert "ok" in capsys.readouterr().out


def test_cli_prefix_finds_deleted_originals_by_their_variants_and_dry_run_changes_nothing(
    aws, capsys
):
    s3 = aws["s3"]
    s3.put_object(Bucket=ORIGINALS, Key=CAT, Body=tiny_jpeg())
    gone = "photos/deleted.jpg/w=640,q=75,f=auto-avif"  # its original is already deleted
    put_derived(s3, [*CAT_VARIANTS, gone, "other/dog.jpg/w=640,q=75,f=auto-avif"])

    assert run_cli("invalidate", ["--prefix", "photos/", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [k["key"] for k in plan["keys"]] == [CAT, "photos/deleted.jpg"]
    assert plan["invalidations"] == [] and len(derived_keys(s3)) == 5

    assert run_cli("invalidate", ["--prefix", "photos/"]) == 0
    assert derived_keys(s3) == ["other/dog.jpg/w=640,q=75,f=auto-avif"]
    assert sorted(invalidated_paths(aws["cf"], aws["dist"])[0]) == sorted(
        [exact_path(k) for k in CAT_VARIANTS] + [exact_path(gone)]
    )


def test_cli_all_invalidates_one_star_path(aws, capsys):
    put_derived(aws["s3"], CAT_VARIANTS + SURVIVORS)
    assert run_cli("invalidate", ["--all"]) == 0
    assert derived_keys(aws["s3"]) == []
    assert invalidated_paths(aws["cf"], aws["dist"]) == [["/*"]]


def test_cli_rejects_bad_usage(aws, capsys):
    assert run_cli("invalidate", []) == 2
    assert run_cli("invalidate", ["photos/../etc"]) == 2
    assert run_cli("warm", [CAT, "--widths", "641"]) == 2
    assert "641 is not in the policy" in capsys.readouterr().err


# --------------------------------------------------------------------------- warm


def test_warm_twice_second_run_skips_everything_s3(aws, capsys):
    s3 = aws["s3"]
    for name in ("a.jpg", "b.jpg"):
        s3.put_object(Bucket=ORIGINALS, Key=f"photos/{name}", Body=tiny_jpeg())
    argv = ["--prefix", "photos/", "--widths", "64,128", "--json"]

    assert run_cli("warm", argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["done"], first["skipped"], first["failed"]) == (12, 0, [])
    assert "photos/a.jpg/w=64,q=75,f=auto-avif" in derived_keys(s3)

    assert run_cli("warm", argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["done"], second["skipped"], second["failed"]) == (0, 12, [])


def test_warm_renders_what_browsers_ask_for(tmp_path: Path):
    originals = tmp_path / "originals"
    (originals / "photos").mkdir(parents=True)
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", originals / "photos" / "p.jpg")
    store = LocalStore(originals, tmp_path / "derived")
    policy = load_policy()
    origin = Origin(Settings(), store, policy)
    formats = lifecycle.parse_formats(["auto"])
    report = warm_keys(origin, ["photos/p.jpg"], [64], formats, 75, progress=False)
    assert report.ok and len(report.done) == 3
    for ops, mime in (("f=auto-avif", "image/avif"), ("f=auto-orig", "image/jpeg")):
        obj = store.get_derived(f"photos/p.jpg/w=64,q=75,{ops}")
        assert obj is not None and obj.content_type == mime
        assert decode(obj.body).size == (64, 96)  # EXIF orientation 6 applied: portrait


def test_warm_failures_are_reported_with_reasons(tmp_path: Path, capsys):
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "ok.jpg").write_bytes(tiny_jpeg())
    (originals / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    argv = ["--originals", str(originals), "--derived", str(tmp_path / "d"), "--all"]
    code = run_cli("warm", [*argv, "missing.jpg", "--widths", "64", "--formats", "webp"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 generated, 0 skipped (present), 2 failed" in out
    assert "FAILED broken.jpg/w=64,q=75,f=webp: 4" in out
    assert "FAILED missing.jpg/w=64,q=75,f=webp: 404 no such original" in out


def test_warm_dry_run_lists_and_writes_nothing(tmp_path: Path, capsys):
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "ok.jpg").write_bytes(tiny_jpeg())
    derived = tmp_path / "d"
    argv = ["--originals", str(originals), "--derived", str(derived), "ok.jpg", "--dry-run"]
    assert run_cli("warm", [*argv, "--widths", "64", "--formats", "auto-avif,png"]) == 0
    out = capsys.readouterr().out
    assert "would generate ok.jpg/w=64,q=75,f=auto-avif" in out
    assert "would generate ok.jpg/w=64,q=75,f=png" in out
    assert not any(p.is_file() for p in derived.rglob("*"))


# --------------------------------------------------------------------------- local endpoint


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    originals = tmp_path / "originals"
    (originals / "photos").mkdir(parents=True)
    (originals / "photos" / "cat.jpg").write_bytes(tiny_jpeg())
    (originals / "photos" / "cat.jpg.bak").write_bytes(tiny_jpeg((0, 200, 0)))
    store = LocalStore(originals, tmp_path / "derived")
    server = make_server(Edge(Origin(Settings(), store, load_policy())), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def get(base: str, path: str) -> requests.Response:
    """A browser-like request through the local edge."""
    return requests.get(f"{base}{path}", headers={"Accept": CHROME}, timeout=30)


def test_invalidate_on_the_local_endpoint_makes_the_next_request_a_miss(endpoint, capsys):
    base, root = endpoint
    originals, derived = root / "originals", root / "derived"
    assert get(base, "/photos/cat.jpg?w=256").headers["X-Cache"].startswith("Miss")
    assert get(base, "/photos/cat.jpg?w=256").headers["X-Cache"].startswith("Hit")
    assert get(base, "/photos/cat.jpg.bak?w=256").headers["X-Cache"].startswith("Miss")

    # Overwrite the original (blue → red), then purge it like the events function would.
    (originals / "photos" / "cat.jpg").write_bytes(tiny_jpeg((250, 0, 0)))
    stale = get(base, "/photos/cat.jpg?w=256")
    assert stale.headers["X-Cache"].startswith("Hit")
    argv = ["photos/cat.jpg", "--local", base, "--derived", str(derived), "--json"]
    assert run_cli("invalidate", argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["keys"][0]["found"] == 1
    assert report["invalidations"][0]["status"] == "Completed (1 dropped)"
    assert not (derived / "photos" / "cat.jpg" / "w=256,q=75,f=auto-avif").exists()

    fresh = get(base, "/photos/cat.jpg?w=256")
    assert fresh.headers["X-Cache"].startswith("Miss")
    pixel = decode(fresh.content).convert("RGB").getpixel((250, 150))
    assert pixel[0] > 200 and pixel[2] < 60  # the new (red) original, not the cached one
    # The sibling whose name starts with the key was neither purged nor invalidated.
    assert get(base, "/photos/cat.jpg.bak?w=256").headers["X-Cache"].startswith("Hit")
    assert (derived / "photos" / "cat.jpg.bak" / "w=256,q=75,f=auto-avif").is_file()


def test_local_endpoint_down_is_a_failure_that_says_so(tmp_path: Path, capsys):
    store = LocalStore(tmp_path / "o", tmp_path / "d")
    store.put_derived(CAT_VARIANTS[0], StoredObject(b"x", "image/avif"), "max-age=1")
    argv = [CAT, "--local", "http://127.0.0.1:9", "--derived", str(tmp_path / "d")]
    assert run_cli("invalidate", argv) == 1
    out = capsys.readouterr().out
    assert "FAILED: local edge failed" in out and "/photos/cat.jpg/w=640,q=75,f=auto-avif" in out


def test_purge_key_reports_listing_failures(tmp_path: Path):
    class Broken(LocalStore):
        def list_derived(self, prefix: str):
            from origin_handler.errors import StorageUnavailable

            raise StorageUnavailable("storage is busy, try again")

    result = purge_key(Broken(tmp_path / "o", tmp_path / "d"), CAT)
    assert not result.ok and result.error == "listing failed: storage is busy, try again"


def test_tiny_jpeg_is_a_real_image():
    assert Image.open(io.BytesIO(tiny_jpeg())).format == "JPEG"


# --------------------------------------------------------------------------- deploy script


SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "purge-after-deploy.sh"


def run_script(keys: str, extra: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run scripts/purge-after-deploy.sh with keys on stdin and this interpreter's CLI."""
    env = {
        **os.environ,
        "IMAGE_ORIGIN": f"{sys.executable} -m origin_handler.cli",
        "PURGE_REPORT": str(tmp_path / "report.json"),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), "-", "--", *extra],
        input=keys,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_purge_after_deploy_script_on_the_local_endpoint(endpoint):
    base, root = endpoint
    assert get(base, "/photos/cat.jpg?w=256").headers["X-Cache"].startswith("Miss")
    assert get(base, "/photos/cat.jpg?w=256").headers["X-Cache"].startswith("Hit")
    keys = "# changed by this deploy\n/photos/cat.jpg\n\nphotos/new.jpg\n"
    done = run_script(keys, ["--local", base, "--derived", str(root / "derived")], root)
    assert done.returncode == 0, done.stderr
    assert "2 originals, 1 variants found, 1 deleted" in done.stdout and "ok" in done.stdout
    assert json.loads((root / "report.json").read_text())["ok"] is True
    assert get(base, "/photos/cat.jpg?w=256").headers["X-Cache"].startswith("Miss")

    get(base, "/photos/cat.jpg?w=256")
    down = ["--local", "http://127.0.0.1:9", "--derived", str(root / "derived")]
    failed = run_script("photos/cat.jpg\n", down, root)
    assert failed.returncode == 1
    assert "NOT invalidated" in failed.stdout and "/photos/cat.jpg/w=256,q=75,f=auto-avif" in (
        failed.stdout
    )
    assert run_script("photos/../x\n", down, root).returncode == 2
