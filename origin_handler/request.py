"""URL → one frozen TransformRequest: key validation, parameter snapping, Accept negotiation.

Two forms are understood and both produce the same object:

* public:    ``/photos/cat.jpg?w=600&q=75`` plus the ``Accept`` header;
* canonical: ``/photos/cat.jpg/w=640,q=75,f=auto-avif`` — what the edge forwards and
  what the derived bucket is keyed by. Parsing a canonical URI is strict: it must
  re-serialize to exactly itself, so the variant space stays finite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from .errors import BadRequest
from .policy import Policy, load_policy

KNOWN_PARAMS = ("w", "h", "q", "fit", "format")
ORIGINAL_FAMILY = "orig"
AUTO_PREFIX = "auto-"
OPS_LIKE = re.compile(r"^(?:w|h|fit|q|f)=[a-z0-9-]+(?:,(?:w|h|fit|q|f)=[a-z0-9-]+)*\Z")
BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DIGITS = re.compile(r"^[0-9]{1,6}\Z")
QVALUE = re.compile(r"^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\Z")


@dataclass(frozen=True)
class TransformRequest:
    """One requested variant: which original, what size, what quality, which format."""

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


def derived_prefix(key: str) -> str:
    """The prefix under which every derived variant of ``key`` is stored."""
    return f"{key}/"


def is_variant_of(derived_key: str, key: str) -> bool:
    """True when ``derived_key`` is a variant of ``key`` itself, not of a deeper original."""
    rest = derived_key[len(key) + 1 :] if derived_key.startswith(derived_prefix(key)) else ""
    return bool(rest) and "/" not in rest and bool(OPS_LIKE.match(rest))


def _percent_decode(raw: str, error: BadRequest) -> str:
    """Strict percent-decoding to UTF-8: a stray `%` or invalid UTF-8 raises `error`."""
    if BAD_PERCENT.search(raw):
        raise error
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise error from None


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


def _decode_path(raw_path: str) -> str:
    if not raw_path.startswith("/"):
        raise BadRequest("invalid path")
    return _percent_decode(raw_path[1:], BadRequest("invalid percent-encoding in path"))


def snap_up(value: int, allowed: tuple[int, ...]) -> int:
    """Smallest allowed value ≥ value; the largest one when value is above them all."""
    for candidate in allowed:
        if candidate >= value:
            return candidate
    return allowed[-1]


def snap_quality(value: int, policy: Policy) -> int:
    """Round a 1–100 quality up to the policy step."""
    step = policy.quality_step
    return min(policy.quality_max, max(step, math.ceil(value / step) * step))


def parse_query(raw_query: str | None) -> dict[str, str]:
    """Known parameters from a raw query string; unknown ones dropped, repeats rejected."""
    params: dict[str, str] = {}
    for piece in (raw_query or "").split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if name not in KNOWN_PARAMS:
            continue
        if name in params:
            raise BadRequest(f"repeated parameter: {name}", param=name)
        params[name] = _percent_decode(
            value, BadRequest(f"invalid {name}: bad percent-encoding", param=name)
        )
    return params


def _positive_int(name: str, value: str) -> int:
    if not DIGITS.match(value) or int(value) < 1:
        raise BadRequest(f"invalid {name}: expected a whole number from 1", param=name)
    return int(value)


def negotiate(accept: str | None, policy: Policy) -> str:
    """Best negotiable format the Accept header names explicitly with q > 0, else ``orig``.

    Wildcards (``image/*``, ``*/*``) never select AVIF or WebP: browsers that cannot
    decode them send wildcards too (Safari 15 sends ``image/*``).
    """
    best, best_q = ORIGINAL_FAMILY, 0.0
    quality: dict[str, float] = {}
    for item in (accept or "").lower().split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media.startswith("image/"):
            continue
        q = 1.0
        for param in params:
            pname, _, pvalue = param.partition("=")
            if pname.strip() == "q":
                pvalue = pvalue.strip()
                q = float(pvalue) if QVALUE.match(pvalue) else 0.0
        fmt = media[len("image/") :]
        quality[fmt] = max(quality.get(fmt, 0.0), q)
    for fmt in policy.negotiated:  # policy order breaks ties
        q = quality.get(fmt, 0.0)
        if q > best_q:
            best, best_q = fmt, q
    return best


def _resolve_format(value: str | None, accept: str | None, policy: Policy) -> tuple[str, bool]:
    if value:
        fmt = value.lower()
        fmt = policy.format_aliases.get(fmt, fmt)
        if fmt in policy.formats:
            return fmt, False
        if fmt != "auto":
            choices = ", ".join((*policy.formats, "auto"))
            raise BadRequest(f"invalid format: expected one of {choices}", param="format")
    return negotiate(accept, policy), True


def from_public(
    key: str, params: dict[str, str], accept: str | None, policy: Policy
) -> TransformRequest:
    """Snap public parameters to the policy and negotiate the format."""
    width = height = None
    if params.get("w"):
        width = snap_up(_positive_int("w", params["w"]), policy.widths)
    if params.get("h"):
        height = snap_up(_positive_int("h", params["h"]), policy.heights)
    quality = policy.quality_default
    if params.get("q"):
        q = params["q"]
        if not DIGITS.match(q) or not policy.quality_min <= int(q) <= policy.quality_max:
            raise BadRequest(
                f"invalid q: expected a whole number from {policy.quality_min}"
                f" to {policy.quality_max}",
                param="q",
            )
        quality = snap_quality(int(q), policy)
    fit = None
    if params.get("fit"):
        fit = params["fit"].lower()
        if fit not in policy.fits:
            raise BadRequest(f"invalid fit: expected one of {', '.join(policy.fits)}", param="fit")
    fit = (fit or policy.default_fit) if width and height else None
    fmt, negotiated = _resolve_format(params.get("format"), accept, policy)
    return TransformRequest(validate_key(key, policy), width, height, fit, quality, fmt, negotiated)


def from_canonical(key: str, ops: str, policy: Policy) -> TransformRequest:
    """Parse a canonical ops segment strictly: it must re-serialize to exactly itself."""
    values = dict(token.split("=", 1) for token in ops.split(","))
    try:
        fmt = values.get("f", "")
        negotiated = fmt.startswith(AUTO_PREFIX)
        fmt = fmt.removeprefix(AUTO_PREFIX)
        request = TransformRequest(
            key=validate_key(key, policy),
            width=int(values["w"]) if "w" in values else None,
            height=int(values["h"]) if "h" in values else None,
            fit=values.get("fit"),
            quality=int(values["q"]),
            format=fmt,
            negotiated=negotiated,
        )
    except (KeyError, ValueError):
        raise BadRequest("not a canonical variant") from None
    allowed_formats = (*policy.formats, ORIGINAL_FAMILY) if negotiated else policy.formats
    valid = (
        request.ops == ops
        and (request.width is None or request.width in policy.widths)
        and (request.height is None or request.height in policy.heights)
        and (request.fit is None or request.fit in policy.fits)
        and (request.fit is not None) == (request.width is not None and request.height is not None)
        and snap_quality(request.quality, policy) == request.quality
        and request.format in allowed_formats
        and (not negotiated or request.format in (*policy.negotiated, ORIGINAL_FAMILY))
    )
    if not valid:
        raise BadRequest("not a canonical variant")
    return request


def parse(
    raw_path: str,
    raw_query: str | None = None,
    accept: str | None = None,
    policy: Policy | None = None,
) -> TransformRequest:
    """Parse either URL form (raw, percent-encoded path) into a TransformRequest."""
    policy = policy or load_policy()
    head, _, last = raw_path.rpartition("/")
    if head and OPS_LIKE.match(last):
        return from_canonical(_decode_path(head), last, policy)
    return from_public(_decode_path(raw_path), parse_query(raw_query), accept, policy)
