"""A progressive JPEG's first DC scans as a JPEG of their own: its 1/8-scale image, cheaply.

Each 8×8 block's DC term is its average, so a progressive file's first scans (the DC terms
of every component, ~10–15 % of the bytes) already hold the exact 1/8-scale image. Cut
there and closed with EOI, libjpeg decodes it with the AC terms missing; at 1/8 scale
(``draft``) nothing else is needed. A 12 MP progressive photo decodes in 1/4–1/8 of the
time of its full file at the same scale, whose every AC scan must still be entropy-decoded.
"""

from __future__ import annotations

import re

EOI = b"\xff\xd9"
# A marker that ends entropy-coded data: 0xFF not followed by stuffing (00), RSTn or fill.
SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Zigzag positions 1–5: the first five AC quantizers (Q01 Q10 Q20 Q11 Q02).
FIRST_AC = range(1, 6)


def dc_only(data: bytes) -> bytes | None:
    """The file cut after its first DC scans, with EOI; None unless plainly a progressive JPEG.

    The whole file is walked first, so that one whose later segments would stop libjpeg
    (a truncated file, a bogus marker, a broken table or scan header) is left to the full
    decode, which refuses it exactly as its image variants are refused.
    """
    if not data.startswith(b"\xff\xd8") or not data.endswith(EOI):
        return None
    try:
        return _walk(data)
    except IndexError:
        return None


def _walk(data: bytes) -> bytes | None:
    out = bytearray(data[:2])
    pos = 2
    components: set[int] = set()
    tables: set[tuple[int, int]] = set()  # (class, id) of the Huffman tables defined so far
    have_dc: set[int] = set()
    cut: bytes | None = None
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:
            return cut if pos + 2 == len(data) else None
        if marker not in SEGMENTS or (marker == 0xC2 and components):
            return None  # a marker libjpeg refuses here, or a second frame
        if marker == 0xDA and not components:
            return None  # a scan before the frame header
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos:end]
        if end > len(data) or not SEGMENTS[marker](segment, components, tables):
            return None
        if marker == 0xC2:
            components = {segment[10 + 3 * i] for i in range(segment[9])}
        elif marker == 0xDB:
            segment = _without_first_ac_quantizers(segment)
        elif marker == 0xDA:
            count = segment[4]
            ss, se, approx = segment[5 + 2 * count : 8 + 2 * count]
            if (ss, se, approx >> 4) == (0, 0, 0) and cut is None:
                have_dc |= {segment[5 + 2 * i] for i in range(count)}
            elif cut is None:  # the first scan that is not a DC first pass: cut before it
                if not components <= have_dc:
                    return None
                cut = bytes(out) + EOI
            found = SCAN_END.search(data, end)
            if found is None:
                return None
            end = found.start()
            segment = data[pos:end]
        if cut is None:
            out += segment
        pos = end
    return None


def _frame_ok(seg: bytes, components: set[int], tables: set[tuple[int, int]]) -> bool:
    count = seg[9]
    return seg[4] == 8 and 1 <= count <= 4 and len(seg) == 10 + 3 * count


def _scan_ok(seg: bytes, components: set[int], tables: set[tuple[int, int]]) -> bool:
    """The checks libjpeg makes of a scan header before it decodes the scan."""
    count = seg[4]
    if not 1 <= count <= 4 or len(seg) != 8 + 2 * count:
        return False
    ss, se, approx = seg[5 + 2 * count : 8 + 2 * count]
    ids = {seg[5 + 2 * i] for i in range(count)}
    high, low = approx >> 4, approx & 15
    if not ids <= components or low > 13 or (high and low != high - 1):
        return False  # jdphuff.c: a refinement pass drops exactly one bit
    if ss == 0:  # DC: the first pass needs each component's DC table
        dc_tables = {(0, seg[6 + 2 * i] >> 4) for i in range(count)}
        return se == 0 and (high > 0 or dc_tables <= tables)
    return count == 1 and ss <= se <= 63 and (1, seg[6] & 15) in tables


def _huffman_ok(seg: bytes, components: set[int], tables: set[tuple[int, int]]) -> bool:
    """Each table's class, id, size and code space, as jdhuff.c checks them."""
    pos = 4
    while pos < len(seg):
        kind, ident = seg[pos] >> 4, seg[pos] & 15
        counts = seg[pos + 1 : pos + 17]
        values = seg[pos + 17 : pos + 17 + sum(counts)]
        if kind > 1 or ident > 3 or len(counts) < 16 or len(values) < sum(counts):
            return False
        if sum(counts) > 256 or (kind == 0 and any(v > 15 for v in values)):
            return False
        code = 0
        for length, count in enumerate(counts, 1):
            code += count
            if count and code >= 1 << length:  # more codes than the length allows
                return False
            code <<= 1
        tables.add((kind, ident))
        pos += 17 + len(values)
    return pos == len(seg)


def _quant_ok(seg: bytes, components: set[int], tables: set[tuple[int, int]]) -> bool:
    pos = 4
    while pos < len(seg):
        if seg[pos] >> 4 > 1 or seg[pos] & 15 > 3:
            return False
        pos += 1 + 64 * (2 if seg[pos] >> 4 else 1)
    return pos == len(seg)


def _restart_ok(seg: bytes, components: set[int], tables: set[tuple[int, int]]) -> bool:
    return len(seg) == 6


def _any_ok(seg: bytes, components: set[int], tables: set[tuple[int, int]]) -> bool:
    return len(seg) >= 4


# The segments libjpeg reads in a progressive file, with the check each must pass.
SEGMENTS = {
    0xC2: _frame_ok,
    0xC4: _huffman_ok,
    0xDA: _scan_ok,
    0xDB: _quant_ok,
    0xDD: _restart_ok,  # DRI
    0xFE: _any_ok,  # COM
    **{marker: _any_ok for marker in range(0xE0, 0xF0)},  # APPn
}


def _without_first_ac_quantizers(segment: bytes) -> bytes:
    """A DQT segment with its tables' first five AC quantizers set to 0.

    With AC terms missing, libjpeg-turbo estimates them block by block from the neighbouring
    DC terms ("block smoothing", 60 % of this decode) unless one of those quantizers is 0
    (jdcoefct.c ``smoothing_ok``, to avoid a division by zero). The AC terms here are all
    0 and a 1/8-scale IDCT reads only the DC term, so these quantizers multiply nothing:
    zeroing them only switches the estimate off.
    """
    table = bytearray(segment)
    pos = 4
    while pos < len(table):
        width = 2 if table[pos] >> 4 else 1  # 8- or 16-bit entries
        if pos + 1 + 64 * width > len(table):
            break  # a short table: left as it is, for the decoder to judge
        for index in FIRST_AC:
            start = pos + 1 + index * width
            table[start : start + width] = bytes(width)
        pos += 1 + 64 * width
    return bytes(table)
