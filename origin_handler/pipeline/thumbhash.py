"""ThumbHash encoder (evanw/thumbhash), operation for operation as the reference JavaScript.

Why not a PyPI package (checked for issue 14): ``thumbhash-python`` pins ``pillow<11`` and
pulls in typer; ``thumbhash`` 0.1.2 (2023) crashes on any image with alpha (an
operator-precedence bug) and rounds half to even where the reference rounds half up;
its fork ``thash`` fixes the crash but keeps Python's rounding and is only fast with
numpy, which the Lambda zip does not carry; the Rust bindings are young single-maintainer
wheels. The algorithm is 60 lines, so it lives here, checked byte for byte against the
reference implementation's outputs (tests/fixtures/thumbhash_vectors.json, made by
scripts/thumbhash-vectors.mjs with the npm ``thumbhash`` package by its author).

The sums run in another order than the reference's (separably, in C), which changes the
last bits of some terms. That matters only where float noise decides anyway: a term that
sits exactly on a rounding tie, and the AC terms of a channel with no variation (its scale
rounds to 0, so they decode to nothing). The reference itself differs there between JS
engines, whose Math.cos disagree in the last bit (V8's fdlibm against glibc's: 3 % of the
cosines used). Everything else is byte-identical; the tests hold it to exactly that.
"""

from __future__ import annotations

import math
from functools import lru_cache
from operator import mul

MAX_SIDE = 100  # the reference refuses more: larger inputs cost time and add nothing


def _round(x: float) -> int:
    """JavaScript's Math.round: halves go up (Python's round() goes to even)."""
    floor = math.floor(x)
    return floor + 1 if x - floor >= 0.5 else floor


@lru_cache(maxsize=1024)
def _basis(n: int, k: int) -> tuple[float, ...]:
    """cos(π/n·k·(i+½)) for i < n: the DCT basis, shared by every channel and call."""
    return tuple(math.cos(math.pi / n * k * (i + 0.5)) for i in range(n))


def encode(w: int, h: int, rgba: bytes) -> bytes:
    """The ThumbHash of a w×h image given as unpremultiplied RGBA bytes, row by row."""
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"{w}x{h} doesn't fit in {MAX_SIDE}x{MAX_SIDE}")
    if len(rgba) != w * h * 4:
        raise ValueError("rgba must hold w*h*4 bytes")
    reds, greens, blues, alphas = rgba[0::4], rgba[1::4], rgba[2::4], rgba[3::4]

    # The average colour, weighted by alpha.
    avg_r = avg_g = avg_b = avg_a = 0.0
    for r8, g8, b8, a8 in zip(reds, greens, blues, alphas, strict=True):
        alpha = a8 / 255
        avg_r += alpha / 255 * r8
        avg_g += alpha / 255 * g8
        avg_b += alpha / 255 * b8
        avg_a += alpha
    if avg_a:
        avg_r /= avg_a
        avg_g /= avg_a
        avg_b /= avg_a

    has_alpha = avg_a < w * h
    l_limit = 5 if has_alpha else 7  # fewer luminance terms when alpha needs the bytes
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))

    # RGBA → LPQA, composited over the average colour.
    lum: list[float] = []
    yellow_blue: list[float] = []
    red_green: list[float] = []
    opacity: list[float] = []
    for r8, g8, b8, a8 in zip(reds, greens, blues, alphas, strict=True):
        alpha = a8 / 255
        r = avg_r * (1 - alpha) + alpha / 255 * r8
        g = avg_g * (1 - alpha) + alpha / 255 * g8
        b = avg_b * (1 - alpha) + alpha / 255 * b8
        lum.append((r + g + b) / 3)
        yellow_blue.append((r + g) / 2 - b)
        red_green.append(r - g)
        opacity.append(alpha)

    def encode_channel(channel: list[float], nx: int, ny: int) -> tuple[float, list[float], float]:
        """DCT into the DC term and AC terms normalised to 0..1, and their scale."""
        # Separable: weight each column by cos(cy·y) once, then each cx is one dot product
        # (sums in C, ~20× the reference's triple loop in Python).
        columns = [channel[x::w] for x in range(w)]
        dc, ac, scale = 0.0, [], 0.0
        for cy in range(ny):
            fy = _basis(h, cy)
            weighted = [sum(map(mul, column, fy)) for column in columns]
            cx = 0
            while cx * ny < nx * (ny - cy):
                fx = _basis(w, cx)
                f = sum(map(mul, weighted, fx)) / (w * h)
                if cx or cy:
                    ac.append(f)
                    scale = max(scale, abs(f))
                else:
                    dc = f
                cx += 1
        if scale:
            ac = [0.5 + 0.5 / scale * f for f in ac]
        return dc, ac, scale

    l_dc, l_ac, l_scale = encode_channel(lum, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = encode_channel(yellow_blue, 3, 3)
    q_dc, q_ac, q_scale = encode_channel(red_green, 3, 3)
    a_dc, a_ac, a_scale = encode_channel(opacity, 5, 5) if has_alpha else (1.0, [], 1.0)

    landscape = w > h
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    out = [header24, header24 >> 8, header24 >> 16, header16, header16 >> 8]
    if has_alpha:
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
    # The AC terms as 4-bit values, two to a byte, low nibble first.
    nibbles = [_round(15 * f) for ac in (l_ac, p_ac, q_ac, a_ac) for f in ac]
    nibbles.append(0)
    out.extend(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles) - 1, 2))
    return bytes(v & 255 for v in out)  # a Uint8Array keeps the low byte, as here
