"""URL → one frozen Variant: parameter snapping and Accept negotiation.

Two forms are understood and both produce the same object:

* public:    ``/photos/cat.jpg?w=600&q=75`` plus the ``Accept`` header;
* canonical: ``/photos/cat.jpg/w=640,q=75,f=auto-avif`` — what the edge forwards and
  what the derived bucket is keyed by, the key ``~XX``-escaped (``variants.escape_key``).
  Parsing a canonical URI is strict: its ops must re-serialize to exactly themselves, so
  the variant space stays finite.

A public path is percent-decoded once and that is the key (a ``~`` in it is a ``~``); a
canonical path's key is percent-decoded (HTTP's layer: ``%7E`` is ``~``) and then
``~XX``-unescaped.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from ..errors import BadRequest
from ..policy import ORIGINAL_FAMILY, Policy, load_policy
from ..variants import (
    OPS_LIKE,
    InfoVariant,
    Variant,
    from_canonical,
    unescape_key,
    validate_key,
)

KNOWN_PARAMS = ("w", "h", "q", "fit", "format", "info")
AUTO_QUALITY = "auto"  # q=auto, q=auto:<level> (docs/url-contract.md)
BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
DIGITS = re.compile(r"^[0-9]{1,6}\Z")
QVALUE = re.compile(r"^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\Z")


def percent_decode(raw: str, error: BadRequest) -> str:
    """Strict percent-decoding to UTF-8: a stray `%` or invalid UTF-8 raises `error`."""
    if BAD_PERCENT.search(raw):
        raise error
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise error from None


def _decode_path(raw_path: str) -> str:
    if not raw_path.startswith("/"):
        raise BadRequest("invalid path")
    return percent_decode(raw_path[1:], BadRequest("invalid percent-encoding in path"))


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
        params[name] = percent_decode(
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


def _auto_level(value: str, policy: Policy) -> str:
    """``auto`` → the default level; ``auto:<level>`` → that level, if the policy has it."""
    if value == AUTO_QUALITY:
        return policy.auto_default
    level = value.removeprefix(f"{AUTO_QUALITY}:")
    if level != value and level in policy.auto_levels:
        return level
    choices = ", ".join([AUTO_QUALITY, *(f"{AUTO_QUALITY}:{n}" for n in policy.auto_levels)])
    raise BadRequest(f"invalid q: expected one of {choices}", param="q")


def from_public(
    key: str, params: dict[str, str], accept: str | None, policy: Policy
) -> Variant | InfoVariant:
    """Snap public parameters to the policy and negotiate the format (or ask for info)."""
    if "info" in params:  # a flag: `?info`; the image parameters do not apply to it
        if params["info"]:
            raise BadRequest("invalid info: takes no value", param="info")
        return InfoVariant(validate_key(key, policy))
    width = height = None
    if params.get("w"):
        width = policy.snap_width(_positive_int("w", params["w"]))
    if params.get("h"):
        if not policy.heights:  # a width-only policy: h would be silently dropped otherwise
            raise BadRequest("invalid h: this policy has no heights", param="h")
        height = policy.snap_height(_positive_int("h", params["h"]))
    quality: int | str = policy.quality_default
    if params.get("q", "").lower().startswith(AUTO_QUALITY):
        quality = _auto_level(params["q"].lower(), policy)
    elif params.get("q"):
        q = params["q"]
        if not DIGITS.match(q) or not policy.quality_min <= int(q) <= policy.quality_max:
            raise BadRequest(
                f"invalid q: expected a whole number from {policy.quality_min}"
                f" to {policy.quality_max}",
                param="q",
            )
        quality = policy.snap_quality(int(q))
    fit = None
    if params.get("fit"):
        fit = params["fit"].lower()
        if fit not in policy.fits:
            raise BadRequest(f"invalid fit: expected one of {', '.join(policy.fits)}", param="fit")
    fit = (fit or policy.default_fit) if width and height else None
    fmt, negotiated = _resolve_format(params.get("format"), accept, policy)
    return Variant(validate_key(key, policy), width, height, fit, quality, fmt, negotiated)


def parse(
    raw_path: str,
    raw_query: str | None = None,
    accept: str | None = None,
    policy: Policy | None = None,
) -> Variant | InfoVariant:
    """Parse either URL form (raw, percent-encoded path) into a Variant or an InfoVariant."""
    policy = policy or load_policy()
    head, _, last = raw_path.rpartition("/")
    if head and OPS_LIKE.match(last):
        return from_canonical(unescape_key(_decode_path(head)), last, policy)
    return from_public(_decode_path(raw_path), parse_query(raw_query), accept, policy)
