"""Drop metadata from JPEG and PNG files without re-encoding their pixels."""

from __future__ import annotations

import struct
import zlib

# APP0 (JFIF) and APP14 (Adobe colour transform) change how pixels decode; keep them.
JPEG_KEEP_APP = {0xE0, 0xEE}
# Chunks that carry pixels or change how they decode; everything else (text, EXIF, ICC,
# time, private chunks) goes. iCCP only reaches here for sRGB-tagged files.
PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"sRGB", b"cHRM", b"sBIT"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def strip(data: bytes, fmt: str) -> bytes | None:
    """The same image without metadata, or None when the file is not plainly structured."""
    try:
        if fmt == "jpeg":
            return _strip_jpeg(data)
        if fmt == "png":
            return _strip_png(data)
    except (IndexError, struct.error, ValueError):
        return None
    return None


def _strip_jpeg(data: bytes) -> bytes | None:
    if data[:2] != b"\xff\xd8":
        return None
    out = [b"\xff\xd8"]
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out.append(data[pos:])
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        if len(segment) < 2 + length:
            return None
        is_app = 0xE0 <= marker <= 0xEF
        if not (marker == 0xFE or (is_app and marker not in JPEG_KEEP_APP)):
            out.append(segment)
        pos += 2 + length
    return None


def _strip_png(data: bytes) -> bytes | None:
    if not data.startswith(PNG_SIGNATURE):
        return None
    out = [PNG_SIGNATURE]
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        chunk = data[pos : pos + 12 + length]
        if len(chunk) < 12 + length:
            return None
        if zlib.crc32(chunk[4 : 8 + length]) != struct.unpack(">I", chunk[8 + length :])[0]:
            return None
        if ctype in PNG_KEEP:
            out.append(chunk)
        pos += 12 + length
        if ctype == b"IEND":
            return b"".join(out)
    return None
