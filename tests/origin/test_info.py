"""Image info through the URL contract and the handler, against S3 (moto and moto_server)."""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import zlib
from dataclasses import replace

import pytest
from PIL import Image

from origin_handler.errors import BadRequest
from origin_handler.lifecycle.purge import find_variants
from origin_handler.origin.handler import Origin
from origin_handler.origin.request import parse
from origin_handler.settings import Limits
from origin_handler.variants import (
    InfoVariant,
    exact_path,
    is_variant_of,
    owner_of,
    wildcard_path,
)
from tests.conftest import PNG_SIGNATURE, SAMPLES, encode, png_chunk
from tests.origin.conftest import KEY, ORIGINALS, event

INFO_KEY = f"{KEY}/f=info"


def info_event(raw_path: str, query: str = "", method: str = "GET") -> dict:
    e = event(raw_path, accept="*/*", method=method)
    e["rawQueryString"] = query
    return e


# --- the contract: names ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/photos/cat.jpg", "info"),
        ("/photos/cat.jpg", "info="),
        ("/photos/cat.jpg", "w=640&info&format=webp"),
        ("/photos/cat.jpg", "info&w=banana"),  # image parameters do not apply to info
        ("/photos/cat.jpg/f=info", "w=640"),
    ],
)
def test_public_and_canonical_info_urls_name_one_document(path: str, query: str) -> None:
    got = parse(path, query, "image/avif,image/webp")
    assert got == InfoVariant("photos/cat.jpg")
    assert (got.canonical_uri, got.derived_key) == (
        "/photos/cat.jpg/f=info",
        "photos/cat.jpg/f=info",
    )
    assert not got.negotiated


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/photos/cat.jpg", "info=1", "invalid info: takes no value"),
        ("/photos/cat.jpg", "info&info", "repeated parameter: info"),
        ("/photos/cat.jpg/q=75,f=info", "", "not a canonical variant"),
        ("/photos/cat.jpg/f=info,q=75", "", "not a canonical variant"),
        ("/photos/../cat.jpg", "info", "dot segment in key"),
    ],
)
def test_bad_info_urls_are_400(path: str, query: str, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse(path, query)
    assert err.value.message == message


def test_keys_are_escaped_as_for_images() -> None:
    got = parse("/f%C3%B6to/my%20cat%2B1.jpg", "info")
    assert got.key == "föto/my cat+1.jpg"
    assert got.canonical_uri == "/f~C3~B6to/my~20cat~2B1.jpg/f=info"
    assert parse(got.canonical_uri) == got
    # An original literally named "f=info" is written percent-encoded, like ops-shaped names.
    assert parse("/photos/f%3Dinfo", "w=64").key == "photos/f=info"


def test_info_is_purged_and_invalidated_with_the_variants() -> None:
    derived = InfoVariant("a b/ü.jpg").derived_key
    assert derived == "a~20b/~C3~BC.jpg/f=info"
    assert is_variant_of(derived, "a b/ü.jpg") and owner_of(derived) == "a b/ü.jpg"
    assert not is_variant_of(InfoVariant("a b/ü.jpg/x.png").derived_key, "a b/ü.jpg")
    assert exact_path(derived) == "/a~20b/~C3~BC.jpg/f=info"
    assert exact_path(derived).startswith(wildcard_path("a b/ü.jpg")[:-1])


# --- the handler --------------------------------------------------------------------------


def test_info_is_rendered_stored_and_served_as_json(origin: Origin) -> None:
    first = origin.handle(info_event(f"/{INFO_KEY}"))
    assert first["statusCode"] == 200 and first["isBase64Encoded"] is False
    headers = first["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == origin.cache_control
    assert "Vary" not in headers and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Last-Modified"].endswith("GMT") and headers["ETag"].startswith('"')
    assert "info;dur=" in headers["Server-Timing"]
    assert int(headers["Content-Length"]) == len(first["body"].encode())
    doc = json.loads(first["body"])
    original = (SAMPLES / KEY).read_bytes()
    assert {k: doc[k] for k in ("width", "height", "format", "bytes", "alpha", "frames")} == {
        "width": 1200,  # upright: the file stores 1800×1200 with EXIF orientation 6
        "height": 1800,
        "format": "jpeg",
        "bytes": len(original),
        "alpha": False,
        "frames": 1,
    }
    assert doc["animated"] is False and re.fullmatch(r"#[0-9a-f]{6}", doc["dominantColor"])
    assert len(base64.b64decode(doc["thumbHash"])) >= 5
    blur = doc["blurDataURL"]
    assert len(blur) <= 400
    placeholder = Image.open(io.BytesIO(base64.b64decode(blur.split(",", 1)[1])))
    assert max(placeholder.size) <= 16 and placeholder.height > placeholder.width

    stored = origin.store.get_derived(INFO_KEY)
    assert stored is not None and stored.content_type == "application/json"
    assert stored.body.decode() == first["body"]
    second = origin.handle(info_event(f"/{INFO_KEY}"))
    assert second["body"] == first["body"]
    assert second["headers"]["Server-Timing"].startswith("derived;dur=")
    assert second["headers"]["ETag"] == headers["ETag"]


def test_public_query_form_reaches_the_same_document(in_process: Origin) -> None:
    public = in_process.handle(info_event(f"/{KEY}", "info"))
    canonical = in_process.handle(info_event(f"/{INFO_KEY}"))
    assert public["statusCode"] == 200 and public["body"] == canonical["body"]


def test_head_has_the_headers_and_no_body(in_process: Origin) -> None:
    head = in_process.handle(info_event(f"/{INFO_KEY}", method="HEAD"))
    assert head["statusCode"] == 200 and head["body"] == ""
    assert head["headers"]["Content-Type"] == "application/json"
    assert int(head["headers"]["Content-Length"]) > 100


def test_purge_finds_the_info_beside_the_variants(in_process: Origin) -> None:
    assert in_process.handle(info_event(f"/{INFO_KEY}"))["statusCode"] == 200
    assert in_process.handle(info_event(f"/{KEY}/w=64,q=75,f=webp"))["statusCode"] == 200
    assert find_variants(in_process.store, KEY) == sorted([INFO_KEY, f"{KEY}/w=64,q=75,f=webp"])


def _bomb_png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    idat = png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + idat + png_chunk(b"IEND", b"")


HOSTILE = {
    "html.jpg": (b"<!doctype html><p>not an image</p>", 415),
    "eps.jpg": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", 415),
    "truncated.jpg": ((SAMPLES / KEY).read_bytes()[:5000], 422),
    "empty.png": (b"", 422),
    "bomb.png": (_bomb_png(), 413),
    "big.png": (encode(Image.new("RGB", (300, 300)), "PNG"), 413),  # over a 200×200 limit
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_originals_get_the_status_of_their_image_variants(
    origin: Origin, name: str
) -> None:
    data, status = HOSTILE[name]
    origin.store.client.put_object(Bucket=ORIGINALS, Key=name, Body=data)
    if name == "big.png":
        limits = Limits(max_source_pixels=200 * 200)
        origin.settings = replace(origin.settings, limits=limits)
    info = origin.handle(info_event(f"/{name}/f=info"))
    image = origin.handle(info_event(f"/{name}/w=64,q=75,f=webp"))
    assert info["statusCode"] == image["statusCode"] == status
    assert info["body"] == image["body"]
    assert info["headers"]["Cache-Control"] == image["headers"]["Cache-Control"]
    assert origin.store.get_derived(f"{name}/f=info") is None


def test_missing_original_is_the_same_404(origin: Origin) -> None:
    info = origin.handle(info_event("/nope.jpg/f=info"))
    image = origin.handle(info_event("/nope.jpg/w=64,q=75,f=webp"))
    assert info["statusCode"] == image["statusCode"] == 404
    assert info["headers"] == image["headers"]
