"""The variant naming scheme: one place that says how a variant is named, stored and purged.

A variant of the original ``photos/cat.jpg`` is named by its canonical ops segment
(``w=640,q=75,f=auto-avif``). From that follow, and only here:

* the canonical URI the edge forwards and caches by: ``/photos/cat.jpg/w=640,q=75,f=auto-avif``
  (the key percent-encoded per segment);
* the derived object key: ``photos/cat.jpg/w=640,q=75,f=auto-avif``, under the prefix
  ``photos/cat.jpg/``; which original a derived key belongs to;
* the CloudFront invalidation paths: the exact URI, or ``/photos/cat.jpg/*``;
* whether the policy admits a variant (``admits``), which the strict canonical parser,
  ``warm`` and the events function all ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from .errors import BadRequest
from .policy import ORIGINAL_FAMILY, Policy

AUTO_PREFIX = "auto-"
OPS_LIKE = re.compile(r"^(?:w|h|fit|q|f)=[a-z0-9-]+(?:,(?:w|h|fit|q|f)=[a-z0-9-]+)*\Z")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Variant:
    """One variant: which original, what size, what quality, which format (and if negotiated)."""

    key: str
    width: int | None
    height: int | None
    fit: str | None
    quality: int
    format: str
    negotiated: bool

    @property
    def ops(self) -> str:
        """The canonical ops segment, e.g. ``w=640,q=75,f=auto-avif``."""
        parts = []
        if self.width is not None:
            parts.append(f"w={self.width}")
        if self.height is not None:
            parts.append(f"h={self.height}")
        if self.fit is not None:
            parts.append(f"fit={self.fit}")
        parts.append(f"q={self.quality}")
        parts.append(f"f={AUTO_PREFIX if self.negotiated else ''}{self.format}")
        return ",".join(parts)

    @property
    def canonical_uri(self) -> str:
        """The URI the edge forwards and caches by (key percent-encoded per segment)."""
        return f"{encode_key(self.key)}/{self.ops}"

    @property
    def derived_key(self) -> str:
        """The object key of this variant in the derived bucket."""
        return f"{self.key}/{self.ops}"


def encode_key(key: str) -> str:
    """Percent-encode a key as ``/seg/seg`` keeping only RFC 3986 unreserved characters."""
    return "/" + "/".join(quote(seg, safe="") for seg in key.split("/"))


def validate_key(key: str, policy: Policy) -> str:
    """Reject keys that are empty, too long, or could escape or confuse a store."""
    if not key:
        raise BadRequest("missing image key")
    if len(key.encode("utf-8")) > policy.max_key_bytes:
        raise BadRequest(f"key longer than {policy.max_key_bytes} bytes")
    if CONTROL.search(key):
        raise BadRequest("control character in key")
    if "\\" in key:
        raise BadRequest("backslash in key")
    for seg in key.split("/"):
        if seg == "":
            raise BadRequest("empty path segment in key")
        if seg in (".", ".."):
            raise BadRequest("dot segment in key")
    return key


def admits(policy: Policy, variant: Variant) -> bool:
    """True when the policy allows this variant (the key is not judged: see validate_key)."""
    w, h, fit, fmt = variant.width, variant.height, variant.fit, variant.format
    if variant.negotiated:
        format_ok = fmt in (*policy.negotiated, ORIGINAL_FAMILY)
    else:
        format_ok = fmt in policy.formats
    return (
        format_ok
        and (w is None or w in policy.widths)
        and (h is None or h in policy.heights)
        and (fit is None or fit in policy.fits)
        and (fit is not None) == (w is not None and h is not None)
        and policy.snap_quality(variant.quality) == variant.quality
    )


def from_canonical(key: str, ops: str, policy: Policy) -> Variant:
    """Parse a canonical ops segment strictly: it must re-serialize to exactly itself."""
    values = dict(token.split("=", 1) for token in ops.split(","))
    try:
        fmt = values.get("f", "")
        variant = Variant(
            key=validate_key(key, policy),
            width=int(values["w"]) if "w" in values else None,
            height=int(values["h"]) if "h" in values else None,
            fit=values.get("fit"),
            quality=int(values["q"]),
            format=fmt.removeprefix(AUTO_PREFIX),
            negotiated=fmt.startswith(AUTO_PREFIX),
        )
    except (KeyError, ValueError):
        raise BadRequest("not a canonical variant") from None
    if variant.ops != ops or not admits(policy, variant):
        raise BadRequest("not a canonical variant")
    return variant


def derived_prefix(key: str) -> str:
    """The prefix under which every derived variant of ``key`` is stored."""
    return f"{key}/"


def is_variant_of(derived_key: str, key: str) -> bool:
    """True when ``derived_key`` is a variant of ``key`` itself, not of a deeper original."""
    rest = derived_key[len(key) + 1 :] if derived_key.startswith(derived_prefix(key)) else ""
    return bool(rest) and "/" not in rest and bool(OPS_LIKE.match(rest))


def owner_of(derived_key: str) -> str | None:
    """The original a derived key is a variant of (its last segment is ops), else None."""
    original = derived_key.rpartition("/")[0]
    return original if original and is_variant_of(derived_key, original) else None


def exact_path(derived_key: str) -> str:
    """The CloudFront path (cache key URI) of one stored variant."""
    key, _, ops = derived_key.rpartition("/")
    return f"{encode_key(key)}/{ops}"


def wildcard_path(key: str) -> str:
    """``/KEY/*``: every variant of KEY and nothing else (the key itself is percent-encoded)."""
    return f"{encode_key(key)}/*"
