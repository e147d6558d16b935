"""Purging originals and the `invalidate` command: moto, the real local endpoint, the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from origin_handler.cli import invalidate as invalidate_command
from origin_handler.cli import main
from origin_handler.cli.common import settings_and_store
from origin_handler.errors import StorageUnavailable
from origin_handler.lifecycle.invalidation import CloudFrontInvalidator
from origin_handler.lifecycle.purge import invalidate_keys, purge_key
from origin_handler.local.edge import Edge
from origin_handler.local.server import make_server
from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import LocalStore, StoredObject
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from origin_handler.variants import exact_path
from tests.conftest import decode
from tests.lifecycle.support import (
    CAT,
    CAT_VARIANTS,
    ORIGINALS,
    SURVIVORS,
    CountingStore,
    aws,  # noqa: F401  (the moto fixture)
    derived_keys,
    invalidated_paths,
    put_derived,
    run_cli,
    tiny_jpeg,
)

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


# --------------------------------------------------------------------------- moto


def test_overwrite_purges_exactly_that_originals_variants_and_invalidates_them(aws):  # noqa: F811
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    put_derived(s3, CAT_VARIANTS + SURVIVORS)
    invalidator = CloudFrontInvalidator(cf, dist, poll_seconds=0)

    report = invalidate_keys(aws["store"], invalidator, [CAT])

    assert report.ok
    assert derived_keys(s3) == sorted(SURVIVORS)
    assert invalidated_paths(cf, dist) == [[exact_path(k) for k in sorted(CAT_VARIANTS)]]
    assert report.as_json()["keys"][0]["deleted"] == 3

    # Idempotent: a second run finds nothing, deletes nothing and pays for no path.
    again = invalidate_keys(aws["store"], invalidator, [CAT])
    assert again.ok and again.keys[0].found == [] and again.cdn.submitted == []
    assert len(invalidated_paths(cf, dist)) == 1


def test_cli_reports_what_was_and_was_not_done_and_exits_non_zero(aws, capsys):  # noqa: F811
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
    aws,  # noqa: F811
    capsys,
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


def test_cli_all_invalidates_one_star_path(aws, capsys):  # noqa: F811
    put_derived(aws["s3"], CAT_VARIANTS + SURVIVORS)
    assert run_cli("invalidate", ["--all"]) == 0
    assert derived_keys(aws["s3"]) == []
    assert invalidated_paths(aws["cf"], aws["dist"]) == [["/*"]]


RED = "photos/red flöwer+1 (2).jpg"
RED_ESCAPED = "photos/red~20fl~C3~B6wer~2B1~20~282~29.jpg"  # variants.escape_key, no "%"
LEGACY = [f"{RED}/w=640,q=75,f=auto-avif", "föto/my cat.jpg/q=75,f=webp"]  # pre-escape names


def test_purge_lists_the_escaped_prefix_and_invalidates_paths_without_percent(aws):  # noqa: F811
    s3, cf, dist = aws["s3"], aws["cf"], aws["dist"]
    variants = [f"{RED_ESCAPED}/w=640,q=75,f=auto-avif", f"{RED_ESCAPED}/q=75,f=webp"]
    put_derived(s3, [*variants, f"{RED_ESCAPED}.bak/q=75,f=webp", *LEGACY])
    invalidator = CloudFrontInvalidator(cf, dist, poll_seconds=0)

    report = invalidate_keys(aws["store"], invalidator, [RED])

    assert report.ok and report.keys[0].found == sorted(variants)
    assert derived_keys(s3) == sorted([f"{RED_ESCAPED}.bak/q=75,f=webp", *LEGACY])
    assert invalidated_paths(cf, dist) == [[f"/{k}" for k in sorted(variants)]]
    assert not any("%" in p for p in invalidated_paths(cf, dist)[0])


def test_cli_all_sweeps_variants_stored_before_the_escape_too(aws, capsys):  # noqa: F811
    put_derived(aws["s3"], [*LEGACY, f"{RED_ESCAPED}/q=75,f=webp", *CAT_VARIANTS])
    assert run_cli("invalidate", ["--all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert derived_keys(aws["s3"]) == []
    assert invalidated_paths(aws["cf"], aws["dist"]) == [["/*"]]
    assert {k["key"]: k["deleted"] for k in report["keys"]} == {
        CAT: 3,
        RED: 2,  # the old name and the new one of the same original
        "föto/my cat.jpg": 1,
    }


def test_cli_all_is_one_sweep_of_the_derived_store(aws, monkeypatch, capsys):  # noqa: F811
    s3 = aws["s3"]
    for n in range(5):
        s3.put_object(Bucket=ORIGINALS, Key=f"photos/{n}.jpg", Body=b"original")
    stray = ["notes.txt", "photos/cat.jpg/readme.txt"]  # not variants of anything: kept
    put_derived(s3, CAT_VARIANTS + SURVIVORS + stray)
    stores: list[CountingStore] = []

    def counted(args):
        settings, store, with_originals = settings_and_store(args)
        stores.append(CountingStore(store))
        return settings, stores[-1], with_originals

    monkeypatch.setattr(invalidate_command, "settings_and_store", counted)
    assert run_cli("invalidate", ["--all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    calls = stores[0].calls
    # One listing of the whole derived store, no listing per original, no originals listing.
    assert (calls["list_derived"], calls["list_originals"], calls["delete_derived"]) == (1, 0, 1)
    assert derived_keys(s3) == sorted(stray)
    assert invalidated_paths(aws["cf"], aws["dist"]) == [["/*"]]
    assert {k["key"]: k["deleted"] for k in report["keys"]} == {
        CAT: 3,
        "photos/cat.jpg.bak": 1,
        "photos/cat.jpg/x.jpg": 1,
        "photos/cathedral.png": 1,
    }
    assert all(k["paths"] == [] for k in report["keys"])  # "/*" replaces every per-key path


def test_cli_all_listing_failure_sends_nothing_and_exits_1(aws, monkeypatch, capsys):  # noqa: F811
    put_derived(aws["s3"], CAT_VARIANTS)

    class Unlistable(CountingStore):
        def list_derived(self, prefix):
            raise StorageUnavailable("storage is busy, try again")

    def unlistable(args):
        settings, store, with_originals = settings_and_store(args)
        return settings, Unlistable(store), with_originals

    monkeypatch.setattr(invalidate_command, "settings_and_store", unlistable)
    assert run_cli("invalidate", ["--all", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["keys"] == [
        {
            "key": "*",
            "found": 0,
            "deleted": 0,
            "not_deleted": [],
            "paths": [],
            "error": "listing failed: storage is busy, try again",
        }
    ]
    assert report["invalidations"] == [] and invalidated_paths(aws["cf"], aws["dist"]) == []


def test_cli_rejects_bad_usage(aws, capsys):  # noqa: F811
    assert run_cli("invalidate", []) == 2
    assert run_cli("invalidate", ["photos/../etc"]) == 2


def test_a_malformed_setting_is_one_line_and_exit_2(aws, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("MAX_FRAMES", "abc")
    assert main(["invalidate", "x.jpg"]) == 2
    err = capsys.readouterr().err
    assert err == "invalidate: MAX_FRAMES must be a whole number, got 'abc'\n"


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


# --------------------------------------------------------------------------- deploy script


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "purge-after-deploy.sh"


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


def deploy_pipeline(text: str) -> str:
    """The `git … | sed … | scripts/purge-after-deploy.sh` example in text, without comment
    markers, as a shell command that prints the keys instead of purging them."""
    lines = [line.removeprefix("#").strip() for line in text.splitlines()]
    start = next(n for n, line in enumerate(lines) if line.startswith("git "))
    end = next(n for n in range(start, len(lines)) if "purge-after-deploy.sh" in lines[n])
    command = "\n".join(lines[start : end + 1])
    return command.replace("scripts/purge-after-deploy.sh", "cat", 1)


@pytest.mark.parametrize("where", ["script header", "docs"])
def test_documented_git_diff_gives_the_keys_of_non_ascii_and_renamed_images(tmp_path, where):
    if where == "docs":
        doc = (SCRIPT.parent.parent / "docs" / "cache-lifecycle.md").read_text()
        text = doc[doc.index("## After a deploy") :]
    else:
        text = SCRIPT.read_text()
    pipeline = deploy_pipeline(text)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",  # git's defaults: quotePath on, rename detection on
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        ).stdout

    images = tmp_path / "public" / "images"
    images.mkdir(parents=True)
    (images / "föto.jpg").write_bytes(b"one")
    (images / "old name.jpg").write_bytes(b"same bytes, so git sees a rename")
    (images / "kept.jpg").write_bytes(b"kept")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first deploy")
    env["PREVIOUS_DEPLOY_SHA"] = git("rev-parse", "HEAD").strip()
    (images / "föto.jpg").write_bytes(b"two")
    git("mv", "public/images/old name.jpg", "public/images/new name.jpg")
    git("commit", "-qam", "second deploy")

    done = subprocess.run(
        ["bash", "-c", pipeline], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == ["föto.jpg", "new name.jpg", "old name.jpg"]
