"""The variant naming scheme: one place that says how a variant is named, stored and purged.

A variant of the original ``photos/cat.jpg`` is named by its canonical ops segment
(``w=640,q=75,f=auto-avif``). From that follow, and only here:

* the canonical URI the edge forwards and caches by: ``/photos/cat.jpg/w=640,q=75,f=auto-avif``
  (the key ``~XX``-escaped per segment, see ``escape_key``);
* the derived object key: that URI without its leading ``/``, under the prefix
  ``photos/cat.jpg/``; which original a derived key belongs to;
* the CloudFront invalidation paths: the exact URI, or ``/photos/cat.jpg/*``;
* the public path of an original (``encode_key``, percent-encoded, what pages write);
* whether the policy admits a variant (``admits``), which the strict canonical parser,
  ``warm`` and the events function all ask, and so how many variants an original can have
  (``variant_space``, what ``image-origin policy --count`` prints);
* the info document of an original (``InfoVariant``, ops ``f=info``): ops-shaped, so it is
  stored, listed, purged and invalidated with the variants by every rule above unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote_to_bytes

from .errors import BadRequest
from .policy import ORIGINAL_FAMILY, Policy

AUTO_PREFIX = "auto-"
OPS_LIKE = re.compile(r"^(?:w|h|fit|q|f)=[a-z0-9-]+(?:,(?:w|h|fit|q|f)=[a-z0-9-]+)*\Z")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BAD_TILDE = re.compile(r"~(?![0-9A-Fa-f]{2})")
ESCAPE = "~"
INFO_OPS = "f=info"  # docs/url-contract.md, "Image info"


@dataclass(frozen=True)
class Variant:
    """One variant: which original, what size, what quality, which format (and if negotiated)."""

    key: str
    width: int | None
    height: int | None
    fit: str | None
    quality: int | str  # 1–100, or a q=auto level name (``good``: ops ``q=auto-good``)
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
        parts.append(f"q={AUTO_PREFIX}{self.quality}" if self.auto else f"q={self.quality}")
        parts.append(f"f={AUTO_PREFIX if self.negotiated else ''}{self.format}")
        return ",".join(parts)

    @property
    def auto(self) -> str | None:
        """The q=auto level this variant asks for, or None for a fixed quality."""
        return self.quality if isinstance(self.quality, str) else None

    @property
    def canonical_uri(self) -> str:
        """The URI the edge forwards and caches by (key ``~XX``-escaped per segment)."""
        return f"{escape_key(self.key)}/{self.ops}"

    @property
    def derived_key(self) -> str:
        """The object key of this variant in the derived bucket: the URI CloudFront sends S3."""
        return self.canonical_uri[1:]


@dataclass(frozen=True)
class InfoVariant:
    """The info document (JSON) of an original: one per original, named like a variant."""

    key: str
    negotiated: bool = False  # never: the document does not depend on Accept

    @property
    def ops(self) -> str:
        """Always ``f=info``."""
        return INFO_OPS

    @property
    def canonical_uri(self) -> str:
        """``/<escaped key>/f=info``."""
        return f"{escape_key(self.key)}/{INFO_OPS}"

    @property
    def derived_key(self) -> str:
        """Its object key in the derived bucket, beside the original's variants."""
        return self.canonical_uri[1:]


def encode_key(key: str) -> str:
    """The public path of a key: ``/seg/seg`` percent-encoded, only RFC 3986 unreserved kept.

    What pages (and the JS URL builder) write; never sent to an origin.
    """
    return "/" + "/".join(quote(seg, safe="") for seg in key.split("/"))


def escape_key(key: str) -> str:
    """The canonical form of a key: ``/seg/seg``, each byte outside ``A-Z a-z 0-9 - . _``
    written ``~XX`` (``~`` itself too).

    CloudFront's origin access control SigV4-signs the URI it forwards, and a ``%`` in it
    breaks the signature check at the Lambda function URL (aws-samples/image-optimization#44).
    So the escape is percent-encoding with ``~`` (unreserved) in place of ``%``: the URI
    stays readable, one-to-one (a literal ``~`` is ``~7E``, so nothing else decodes to it)
    and S3 stores it verbatim as the derived key. docs/url-contract.md argues the choice.
    """
    return "/" + "/".join(
        quote(seg, safe="").replace(ESCAPE, "~7E").replace("%", ESCAPE) for seg in key.split("/")
    )


def unescape_key(escaped: str) -> str:
    """Invert ``escape_key`` (without the leading ``/``); a bad ``~`` escape or non-UTF-8 raises.

    Characters that need no escape are taken as they are (``a b`` is ``a b``), so a
    hand-written canonical URI with a raw space still names the key it spells.
    """
    error = BadRequest("invalid ~ escape in path")
    if BAD_TILDE.search(escaped):
        raise error
    try:
        return unquote_to_bytes(escaped.replace("%", "%25").replace(ESCAPE, "%")).decode("utf-8")
    except UnicodeDecodeError:
        raise error from None


def validate_key(key: str, policy: Policy) -> str:
    """Reject keys that are empty, too long, or could escape or confuse a store."""
    if not key:
        raise BadRequest("missing image key")
    # The escaped form is the derived object key: it (plus "/" and the longest ops) must
    # fit S3's 1,024 bytes, so the limit counts escaped bytes (`ü` is 6: `~C3~BC`).
    if len(escape_key(key)) - 1 > policy.max_key_bytes:
        raise BadRequest(f"escaped key longer than {policy.max_key_bytes} bytes")
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
    w, h, fit, fmt, q = variant.width, variant.height, variant.fit, variant.format, variant.quality
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
        # One variant per auto level: the level is the quality, not a quality per level.
        and (q in policy.auto_levels if isinstance(q, str) else q in policy.qualities)
    )


Size = tuple[int | None, int | None, str | None]  # (w, h, fit) of a canonical variant


@dataclass(frozen=True)
class VariantSpace:
    """Every value each part of a canonical variant can take under one policy."""

    sizes: tuple[Size, ...]  # none, w only, h only, w + h + fit
    qualities: tuple[int | str, ...]  # numbers, then q=auto level names
    formats: tuple[tuple[str, bool], ...]  # (format, negotiated)

    @property
    def count(self) -> int:
        """How many distinct image variants (canonical ops segments) one original can have."""
        return len(self.sizes) * len(self.qualities) * len(self.formats)


def variant_space(policy: Policy) -> VariantSpace:
    """The variant space of one original, part by part, as ``admits`` judges it.

    Candidates come from the policy's lists, and each is kept only when ``admits`` accepts
    it in an otherwise plain variant. ``admits`` is one predicate per part (size, quality,
    format) joined by ``and``, so the variants it admits are exactly the product of the
    three lists and ``count`` is the product of their lengths (tests/test_variants.py
    checks it against a brute-force walk of the canonical grammar).
    """
    plain = Variant("k", None, None, None, policy.quality_default, ORIGINAL_FAMILY, True)
    ws, hs, fits = policy.widths, policy.heights, policy.fits
    sizes: list[Size] = [(None, None, None)]
    sizes += [(w, None, None) for w in ws] + [(None, h, None) for h in hs]
    sizes += [(w, h, fit) for w in ws for h in hs for fit in fits]
    qualities = [*policy.qualities, *policy.auto_levels]
    formats = [(f, False) for f in policy.formats]
    formats += [(f, True) for f in (*policy.negotiated, ORIGINAL_FAMILY)]
    return VariantSpace(
        sizes=tuple(
            s for s in sizes if admits(policy, replace(plain, width=s[0], height=s[1], fit=s[2]))
        ),
        qualities=tuple(q for q in qualities if admits(policy, replace(plain, quality=q))),
        formats=tuple(
            (f, n) for f, n in formats if admits(policy, replace(plain, format=f, negotiated=n))
        ),
    )


def from_canonical(key: str, ops: str, policy: Policy) -> Variant | InfoVariant:
    """Parse a canonical ops segment strictly: it must re-serialize to exactly itself.

    The key is judged first, so a key error wins over an ops error as on the edge.
    """
    key = validate_key(key, policy)
    if ops == INFO_OPS:
        return InfoVariant(key)
    values = dict(token.split("=", 1) for token in ops.split(","))
    try:
        fmt, q = values.get("f", ""), values["q"]
        variant = Variant(
            key=key,
            width=int(values["w"]) if "w" in values else None,
            height=int(values["h"]) if "h" in values else None,
            fit=values.get("fit"),
            quality=q.removeprefix(AUTO_PREFIX) if q.startswith(AUTO_PREFIX) else int(q),
            format=fmt.removeprefix(AUTO_PREFIX),
            negotiated=fmt.startswith(AUTO_PREFIX),
        )
    except (KeyError, ValueError):
        raise BadRequest("not a canonical variant") from None
    if variant.ops != ops or not admits(policy, variant):
        raise BadRequest("not a canonical variant")
    return variant


def derived_prefix(key: str) -> str:
    """The prefix under which every derived variant of ``key`` is stored (key escaped)."""
    return f"{escape_key(key)[1:]}/"


def is_variant_of(derived_key: str, key: str) -> bool:
    """True when ``derived_key`` is a variant of ``key`` itself, not of a deeper original."""
    prefix = derived_prefix(key)
    rest = derived_key[len(prefix) :] if derived_key.startswith(prefix) else ""
    return bool(rest) and "/" not in rest and bool(OPS_LIKE.match(rest))


def owner_of(derived_key: str) -> str | None:
    """The original a derived key is a variant of (its last segment is ops), else None.

    A key stored before the ``~XX`` escape (``föto/my cat.jpg/q=75,f=webp``: the key
    verbatim) is not in canonical form; its head is returned as it is, so that
    ``invalidate --all`` and prefix discovery still find and sweep it.
    """
    head, _, ops = derived_key.rpartition("/")
    if not head or not OPS_LIKE.match(ops):
        return None
    try:
        key = unescape_key(head)
    except BadRequest:
        return head
    return key if derived_prefix(key) == f"{head}/" else head


def exact_path(derived_key: str) -> str:
    """The CloudFront path (cache key URI) of one stored variant.

    For a canonical derived key that is ``/`` + the key itself; one stored before the
    ``~XX`` escape gets its original's current URI, so no path ever carries a ``%``.
    """
    head, _, ops = derived_key.rpartition("/")
    return f"{escape_key(owner_of(derived_key) or head)}/{ops}"


def wildcard_path(key: str) -> str:
    """``/KEY/*``: every variant of KEY and nothing else (the key ``~XX``-escaped, so a ``*``
    in it is ``~2A`` and never a wildcard)."""
    return f"{escape_key(key)}/*"
