"""Stores: the local store never leaves its root; S3 errors map to statuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from origin_handler.errors import NotFound, TooLarge
from origin_handler.origin.storage import LocalStore, StoredObject


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "originals" / "photos").mkdir(parents=True)
    (tmp_path / "originals" / "photos" / "cat.jpg").write_bytes(b"cat")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", tmp_path / "originals" / "link.jpg")
    return LocalStore(tmp_path / "originals", tmp_path / "derived")


@pytest.mark.parametrize(
    "key",
    ["../secret.txt", "photos/../../secret.txt", "/etc/passwd", "link.jpg", "", "photos", "a\0b"],
)
def test_local_store_never_reads_outside_its_root(store: LocalStore, key: str):
    with pytest.raises(NotFound):
        store.get_original(key, 1 << 20)


@pytest.mark.parametrize("key", ["../escape/w=16,q=75,f=webp", "/tmp/x/w=16,q=75,f=webp"])
def test_local_store_never_writes_outside_its_root(store: LocalStore, tmp_path: Path, key):
    with pytest.raises(NotFound):
        store.put_derived(key, StoredObject(b"x", "image/webp"), "no-store")
    assert not (tmp_path / "escape").exists() and not Path("/tmp/x/w=16,q=75,f=webp").exists()


def test_local_store_round_trip_list_delete(store: LocalStore):
    assert store.get_original("photos/cat.jpg", 10).body == b"cat"
    assert store.peek_original("photos/cat.jpg", 2) == b"ca"
    with pytest.raises(NotFound):
        store.peek_original("../secret.txt", 2)
    with pytest.raises(TooLarge):
        store.get_original("photos/cat.jpg", 2)
    key = "photos/cat.jpg/w=16,q=75,f=webp"
    assert store.get_derived(key) is None
    meta = {"a": "b", "source-etag": store.original_etag("photos/cat.jpg") or ""}
    store.put_derived(key, StoredObject(b"RIFF", "image/webp", metadata=meta), "no-store")
    got = store.get_derived(key)
    assert got is not None and (got.body, got.content_type, got.metadata) == (
        b"RIFF",
        "image/webp",
        meta,
    )
    assert list(store.list_derived("photos/cat.jpg/")) == [key]
    assert list(store.list_originals("photos/")) == ["photos/cat.jpg"]
    assert store.delete_derived([key, "photos/cat.jpg/q=75,f=png"]) == []
    assert store.get_derived(key) is None


def test_local_variant_of_a_changed_original_is_stale(store: LocalStore, tmp_path: Path):
    key = "photos/cat.jpg/w=16,q=75,f=webp"
    etag = store.original_etag("photos/cat.jpg")
    assert etag and store.original_etag("photos/dog.jpg") is None
    store.put_derived(key, StoredObject(b"RIFF", metadata={"source-etag": etag}), "no-store")
    assert store.get_derived(key) is not None
    original = tmp_path / "originals" / "photos" / "cat.jpg"
    os.utime(original, ns=(0, original.stat().st_mtime_ns + 1))  # same bytes, touched
    assert store.get_derived(key) is None
    assert store.derived_metadata(key) == {"source-etag": etag}  # still there, just stale
    original.write_bytes(b"kitten")
    assert store.original_etag("photos/cat.jpg") not in (None, etag)


class _FailingClient:
    """A boto3-shaped S3 client whose every call raises the given exception."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get_object(self, **_kw):
        raise self.exc

    put_object = get_object


def _client_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (_client_error("NoSuchKey", 404), 404, "no such original"),
        (_client_error("AccessDenied", 403), 502, "storage denied access"),
        (_client_error("NoSuchBucket", 404), 502, "storage bucket is missing"),
        (_client_error("SlowDown", 503), 503, "storage is busy, try again"),
        (_client_error("InternalError", 500), 502, "storage failed (InternalError)"),
    ],
)
def test_s3_errors_map_to_statuses(exc, status, message):
    from origin_handler.origin.storage import S3Store

    store = S3Store("originals", "derived", _FailingClient(exc))
    with pytest.raises(Exception) as info:
        store.get_original("a.jpg", 1 << 20)
    assert (info.value.status, info.value.message) == (status, message)


def test_s3_connection_failures_are_503():
    from botocore.exceptions import EndpointConnectionError

    from origin_handler.origin.storage import S3Store

    store = S3Store("o", "d", _FailingClient(EndpointConnectionError(endpoint_url="http://x")))
    with pytest.raises(Exception) as info:
        store.get_original("a.jpg", 1 << 20)
    assert info.value.status == 503
    with pytest.raises(Exception) as derived:
        store.get_derived("a.jpg/q=75,f=webp")
    assert derived.value.status == 503


def test_s3_missing_variant_is_none_not_an_error():
    from origin_handler.origin.storage import S3Store

    store = S3Store("o", "d", _FailingClient(_client_error("NoSuchKey", 404)))
    assert store.get_derived("a.jpg/q=75,f=webp") is None
