"""The local CloudFront stand-in: cache keyed by canonical URI, origin group, invalidation."""

from __future__ import annotations

import shutil

import pytest

from origin_handler.errors import StorageError
from origin_handler.local.edge import Edge, EdgeCache, EdgeResponse
from origin_handler.origin.handler import Origin
from origin_handler.origin.storage import LocalStore
from origin_handler.policy import load_policy
from origin_handler.settings import Settings
from tests.conftest import SAMPLES, decode

AVIF_FIRST = {"Accept": "image/avif,image/webp,*/*"}


@pytest.fixture
def edge(tmp_path) -> Edge:
    shutil.copy(SAMPLES / "portrait-orientation-6.jpg", tmp_path / "p.jpg")
    store = LocalStore(tmp_path, tmp_path / "derived")
    return Edge(Origin(Settings(), store, load_policy()))


def test_head_miss_is_not_cached_as_an_empty_image(edge: Edge):
    head = edge.request("HEAD", "/p.jpg", "w=64", AVIF_FIRST)
    assert head.status == 200 and head.headers["X-Cache"].startswith("Miss")
    get = edge.request("GET", "/p.jpg", "w=64", AVIF_FIRST)
    assert get.status == 200 and len(get.body) > 100
    assert decode(get.body).size == (64, 96)


def test_public_urls_that_normalize_alike_share_one_entry(edge: Edge):
    first = edge.request("GET", "/p.jpg", "w=60&q=71", AVIF_FIRST)
    second = edge.request("GET", "/p.jpg", "q=75&w=64&utm_source=x", AVIF_FIRST)
    assert first.headers["X-Cache"].startswith("Miss") and second.headers["X-Cache"].startswith(
        "Hit"
    )
    assert first.body == second.body and len(edge.cache) == 1
    assert second.headers["Vary"] == "Accept"


def test_invalidation_during_a_miss_is_not_undone(edge: Edge):
    cache = edge.cache
    generation = cache.generation
    cache.invalidate(["/p.jpg/*"])  # lands while the origin is still rendering
    cache.put("/p.jpg/w=64,q=75,f=auto-avif", EdgeResponse(200, {}, b"stale"), generation)
    assert cache.get("/p.jpg/w=64,q=75,f=auto-avif") is None


def test_lru_is_bounded_in_bytes():
    cache = EdgeCache(max_bytes=10)
    for uri in ("/a", "/b", "/c"):
        cache.put(uri, EdgeResponse(200, {}, b"12345"), cache.generation)
    assert cache.get("/a") is None and cache.get("/c") is not None and len(cache) == 2


def test_exact_and_wildcard_invalidation_paths():
    cache = EdgeCache()
    for uri in ("/a.jpg/q=75,f=webp", "/a.jpg/w=16,q=75,f=webp", "/a.jpgx/q=75,f=webp"):
        cache.put(uri, EdgeResponse(200, {}, b"x"), cache.generation)
    assert cache.invalidate(["/a.jpg/q=75,f=webp"]) == 1
    assert cache.invalidate(["/a.jpg/*"]) == 1
    assert cache.get("/a.jpgx/q=75,f=webp") is not None


def test_a_failing_derived_store_falls_back_to_the_function(edge: Edge, monkeypatch):
    def broken(key: str):
        raise StorageError("storage failed")

    monkeypatch.setattr(edge.origin.store, "get_derived", broken)
    answer = edge.request("GET", "/p.jpg", "w=64&format=png", {})
    assert answer.status == 200 and decode(answer.body).size == (64, 96)


def test_bad_parameters_are_answered_at_the_edge(edge: Edge, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="image_origin")
    answer = edge.request("GET", "/p.jpg", "w=abc", {})
    (line,) = [json.loads(r.message) for r in caplog.records]
    assert line["status"] == 400 and line["error_code"] == "bad_request"
    assert answer.status == 400
    assert answer.body == b"400 invalid w: expected a whole number from 1\n"
