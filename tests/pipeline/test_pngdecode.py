"""The zlib-ng PNG reader decodes exactly what Pillow's own reader decodes, and fails alike."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from origin_handler.errors import Undecodable
from origin_handler.pipeline import transform
from origin_handler.pipeline.options import RenderOptions
from origin_handler.pipeline.pngdecode import ZlibNgPngImageFile, open_png
from tests.conftest import PNG_SIGNATURE, encode, png_chunk


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def build(parts: list[tuple[bytes, bytes]]) -> bytes:
    return PNG_SIGNATURE + b"".join(png_chunk(t, p) for t, p in parts)


def noisy(mode: str, size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Random pixels in any mode: every filter type and byte value gets exercised."""
    rng = random.Random(seed)
    if mode == "1":
        return noisy("L", size, seed).convert("1")
    per_pixel = len(Image.new(mode, (1, 1)).tobytes())
    raw = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * per_pixel))
    return Image.frombytes(mode, size, raw)


def pillow_decode(data: bytes) -> Image.Image:
    im = PngImagePlugin.PngImageFile(io.BytesIO(data))
    im.load()
    return im


def fast_decode(data: bytes) -> Image.Image:
    im = open_png(data)
    assert isinstance(im, ZlibNgPngImageFile)
    im.load()
    return im


def assert_same(data: bytes) -> Image.Image:
    ours, theirs = fast_decode(data), pillow_decode(data)
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
    assert ours.tobytes() == theirs.tobytes()
    return ours


def adam7(im: Image.Image) -> bytes:
    """An interlaced 8-bit RGB PNG (Pillow can read Adam7 but not write it)."""
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
    passes += ((0, 1, 1, 2),)
    px = im.load()
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        xs = range(x0, im.width, dx)
        for y in range(y0, im.height, dy):
            if xs:
                raw += b"\0" + b"".join(bytes(px[x, y]) for x in xs)
    ihdr = struct.pack(">IIBBBBB", im.width, im.height, 8, 2, 0, 0, 1)
    return build([(b"IHDR", ihdr), (b"IDAT", zlib.compress(bytes(raw))), (b"IEND", b"")])


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "1", "I;16"])
def test_every_mode_decodes_exactly_like_pillow(mode):
    data = encode(noisy(mode, (97, 61)), "PNG")
    assert assert_same(data).mode == pillow_decode(data).mode


def test_palette_with_transparency_matches():
    im = noisy("L", (80, 50)).convert("P")
    data = encode(im, "PNG", transparency=7)
    ours = assert_same(data)
    assert ours.info["transparency"] == 7


def test_sixteen_bit_rgb_matches():
    parts = [
        (b"IHDR", struct.pack(">IIBBBBB", 33, 21, 16, 2, 0, 0, 0)),
        (b"IDAT", zlib.compress(b"".join(b"\0" + random.randbytes(33 * 6) for _ in range(21)))),
        (b"IEND", b""),
    ]
    assert_same(build(parts))


def test_interlaced_matches_and_is_right():
    im = noisy("RGB", (37, 29), seed=7)
    assert assert_same(adam7(im)).tobytes() == im.tobytes()


def test_image_data_split_over_many_idat_chunks_matches():
    data = encode(noisy("RGBA", (300, 200)), "PNG")
    parts = chunks(data)
    idat = b"".join(p for t, p in parts if t == b"IDAT")
    split = [(b"IDAT", idat[i : i + 1000]) for i in range(0, len(idat), 1000)]
    split.insert(1, (b"IDAT", b""))  # empty IDAT chunks are allowed
    rebuilt = [parts[0], *split, (b"IEND", b"")]
    assert len(split) > 20
    assert_same(build(rebuilt))


def test_highly_compressible_image_crosses_the_output_chunk_size():
    # 3000×3000 RGBA of one colour: ~36 MB of scanlines from a few KB of IDAT.
    im = Image.new("RGBA", (3000, 3000), (10, 200, 30, 128))
    im.paste((250, 0, 0, 255), (1000, 1000, 2000, 2000))
    data = encode(im, "PNG", compress_level=9)
    assert len(data) < 200_000
    ours = fast_decode(data)
    assert ours.tobytes() == im.tobytes()


def test_animated_png_frames_match():
    frames = [noisy("RGBA", (40, 30), seed=s) for s in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=50)
    data = out.getvalue()
    ours, theirs = open_png(data), PngImagePlugin.PngImageFile(io.BytesIO(data))
    assert ours.n_frames == theirs.n_frames == 3
    for index in range(3):
        ours.seek(index)
        theirs.seek(index)
        assert ours.convert("RGBA").tobytes() == theirs.convert("RGBA").tobytes()


def test_exif_after_the_image_data_is_still_read():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(noisy("RGB", (20, 10)), "PNG", exif=exif.tobytes())
    parts = chunks(data)
    exif_chunk = next(p for p in parts if p[0] == b"eXIf")
    parts.remove(exif_chunk)
    parts.insert(len(parts) - 1, exif_chunk)  # after IDAT, before IEND
    im = open_png(build(parts))
    assert im.getexif()[0x0112] == 6


def test_truncated_image_data_is_an_oserror():
    data = encode(noisy("RGB", (200, 100)), "PNG")
    with pytest.raises(OSError, match="truncated"):
        fast_decode(data[: len(data) // 2])


def test_damaged_deflate_stream_is_an_oserror_not_a_zlib_error():
    data = bytearray(encode(noisy("RGB", (64, 64)), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start + 2 : start + 40] = b"\xff" * 38  # invalid block type / codes
    with pytest.raises(OSError, match="broken PNG data stream"):
        fast_decode(bytes(data))


def test_image_data_ending_early_is_an_oserror():
    # A complete, valid zlib stream that holds only half of the scanlines.
    rows = b"".join(b"\0" + b"\x80" * 30 for _ in range(5))
    ihdr = struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0)
    data = build([(b"IHDR", ihdr), (b"IDAT", zlib.compress(rows)), (b"IEND", b"")])
    with pytest.raises(OSError):
        fast_decode(data)


def test_render_maps_broken_png_data_to_422():
    data = bytearray(encode(noisy("RGB", (64, 64)), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start + 2 : start + 40] = b"\xff" * 38
    request = RenderOptions(32, None, None, 75, "webp")
    with pytest.raises(Undecodable) as info:
        transform.render(bytes(data), request)
    assert info.value.status == 422
