"""Pre-generating variants (`warm`): moto S3 and local directories."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from origin_handler.cli import main
from origin_handler.lifecycle import warm
from origin_handler.lifecycle.warm import warm_keys
from origin_handler.origin.handler import Origin, Rendition
from origin_handler.origin.storage import LocalStore, StoredObject
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import SAMPLES, decode
from tests.lifecycle.support import (
    CAT,
    ORIGINALS,
    CountingStore,
    aws,  # noqa: F401  (the moto fixture)
    derived_keys,
    run_cli,
    tiny_jpeg,
)


def test_cli_rejects_widths_outside_the_policy(aws, capsys):  # noqa: F811
    assert run_cli("warm", [CAT, "--widths", "641"]) == 2
    assert "641 is not in the policy" in capsys.readouterr().err


def test_cli_names_the_option_the_policy_refuses(aws, capsys):  # noqa: F811
    for flags, message in (
        (["--formats", "auto-jpeg"], "warm: format auto-jpeg is not allowed"),
        (["--formats", "gif"], "warm: format gif is not allowed"),
        (["--quality", "77"], "warm: quality 77 is not in the policy (50 75 90)"),
        (["--formats", ","], "warm: no formats given"),
    ):
        assert run_cli("warm", [CAT, *flags]) == 2
        assert capsys.readouterr().err == message + "\n"


def test_a_malformed_setting_is_one_line_and_exit_2(aws, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("MAX_FRAMES", "abc")
    assert main(["warm", "x.jpg"]) == 2
    assert capsys.readouterr().err == "warm: MAX_FRAMES must be a whole number, got 'abc'\n"


def test_keys_no_url_can_reach_fail_alone_locally(tmp_path: Path, capsys):
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "ok.jpg").write_bytes(tiny_jpeg())
    (originals / "bad\\name.png").write_bytes(tiny_jpeg())  # a legal file name on Linux
    argv = ["--originals", str(originals), "--derived", str(tmp_path / "d"), "--all"]
    assert run_cli("warm", [*argv, "--widths", "64", "--formats", "webp"]) == 1
    out = capsys.readouterr().out
    assert "2 originals: 1 generated, 0 skipped (present), 1 failed" in out
    assert "FAILED bad\\name.png: 400 backslash in key" in out


def test_keys_no_url_can_reach_fail_alone_on_s3(aws, capsys):  # noqa: F811
    s3 = aws["s3"]
    for key in ("photos/a.jpg", "photos//b.jpg"):
        s3.put_object(Bucket=ORIGINALS, Key=key, Body=tiny_jpeg())
    argv = ["--prefix", "photos/", "--widths", "64", "--formats", "auto-avif", "--json"]
    assert run_cli("warm", argv) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["done"] == 1 and "photos/a.jpg/w=64,q=75,f=auto-avif" in derived_keys(s3)
    assert out["failed"] == [
        {"variant": "photos//b.jpg", "status": 400, "reason": "empty path segment in key"}
    ]


def test_warm_twice_second_run_skips_everything_s3(aws, capsys):  # noqa: F811
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


def _record(calls: list[tuple[int, int]]):
    return lambda done, total: calls.append((done, total))


def test_warm_renders_what_browsers_ask_for(tmp_path: Path):
    originals = tmp_path / "originals"
    (originals / "photos").mkdir(parents=True)
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", originals / "photos" / "p.jpg")
    store = LocalStore(originals, tmp_path / "derived")
    policy = load_policy()
    origin = Origin(Settings(), store, policy)
    formats = warm.parse_formats(["auto"])
    calls: list[tuple[int, int]] = []
    report = warm_keys(origin, ["photos/p.jpg"], [64], formats, 75, progress=_record(calls))
    assert report.ok and len(report.done) == 3
    assert calls[-1] == (3, 3) and [d for d, _ in calls] == sorted(d for d, _ in calls)
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


def test_one_get_of_the_original_per_key_whatever_the_variants(tmp_path: Path):
    originals = tmp_path / "originals"
    originals.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (originals / name).write_bytes(tiny_jpeg())
    store = CountingStore(LocalStore(originals, tmp_path / "derived"))
    origin = Origin(Settings(), store, load_policy())
    formats = warm.parse_formats(["auto-avif", "webp", "png"])

    report = warm_keys(origin, ["a.jpg"], [64, 128], formats, 75, concurrency=4)

    assert report.ok and len(report.done) == 6  # 1 key × 2 widths × 3 formats
    assert store.originals_read == ["a.jpg"]  # one GET, not one per variant
    assert store.calls["list_derived"] == 1 and store.calls["put_derived"] == 6
    assert store.calls["get_derived"] == 0  # the listing already said what is missing

    store.calls.clear()
    store.originals_read.clear()
    keys = ["a.jpg", "b.jpg", "c.jpg"]
    report = warm_keys(origin, keys, [64, 128], formats, 75, concurrency=4)
    assert (len(report.done), len(report.skipped)) == (12, 6)
    assert sorted(store.originals_read) == ["b.jpg", "c.jpg"]  # a.jpg is complete: no GET


def test_parallel_across_originals_never_within_one(tmp_path: Path, monkeypatch):
    originals = tmp_path / "originals"
    originals.mkdir()
    keys = [f"k{n}.jpg" for n in range(4)]
    for key in keys:
        (originals / key).write_bytes(tiny_jpeg())
    origin = Origin(Settings(), LocalStore(originals, tmp_path / "derived"), load_policy())
    lock = threading.Lock()
    active: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    overall = {"now": 0, "peak": 0}

    def fake_render_and_store(self, req, original, metadata=None):
        with lock:
            active[req.key] += 1
            overall["now"] += 1
            peak[req.key] = max(peak[req.key], active[req.key])
            overall["peak"] = max(overall["peak"], overall["now"])
        time.sleep(0.02)
        with lock:
            active[req.key] -= 1
            overall["now"] -= 1
        return Rendition(StoredObject(b""), stored=True)

    monkeypatch.setattr(Origin, "render_and_store", fake_render_and_store)
    formats = warm.parse_formats(["auto"])
    report = warm_keys(origin, keys, [64, 128], formats, 75, concurrency=4)

    assert report.ok and len(report.done) == 24
    assert set(peak.values()) == {1}  # one variant of an original at a time
    assert overall["peak"] > 1  # while other originals render alongside


def test_tiny_jpeg_is_a_real_image():
    assert Image.open(io.BytesIO(tiny_jpeg())).format == "JPEG"
