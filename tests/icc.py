"""A Display P3 ICC profile for tests: the samples' compact sRGB profile with P3 colorants."""

from __future__ import annotations

import struct
from functools import cache

from PIL import Image

from tests.conftest import SAMPLES

# Display P3 colorants adapted to D50, as in Apple's "Display P3" profile.
P3_COLORANTS = {
    b"rXYZ": (0.5151, 0.2412, -0.0011),
    b"gXYZ": (0.2919, 0.6922, 0.0419),
    b"bXYZ": (0.1572, 0.0666, 0.7841),
}


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


@cache
def display_p3() -> bytes:
    """ICC bytes whose primaries are Display P3 (curves stay sRGB's, as in real P3)."""
    with Image.open(SAMPLES / "jon-tyson-FKkK1hnTe-Q-unsplash.jpg") as im:
        icc = bytearray(im.info["icc_profile"])
    (count,) = struct.unpack(">I", icc[128:132])
    for i in range(count):
        sig, offset, _size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
        if sig in P3_COLORANTS:
            xyz = b"".join(_s15f16(v) for v in P3_COLORANTS[sig])
            icc[offset + 8 : offset + 20] = xyz
    icc[84:100] = b"\0" * 16  # profile ID (MD5) no longer matches; zero means "not computed"
    return bytes(icc)
