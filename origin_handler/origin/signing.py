"""Signed URLs: an HMAC over the canonical variant, checked at the edge and again here.

docs/signed-urls.md is the contract. In short: ``s=<key id>.<mac>`` is appended to a public
(or canonical) URL; ``mac`` is the unpadded base64url HMAC-SHA256, under the secret of that
key id, of the *signed text*: the variant's canonical URI with a negotiated format written
``f=auto`` (the edge picks AVIF or WebP from Accept after the signature was made, so the
signature cannot name it). Snapping happens before signing: ``w=600`` and ``w=640`` are one
variant and one signature. The policy's ``signing.mode`` says whether a signature is
ignored (``off``), checked when present (``optional``) or needed (``required``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from ..errors import BadRequest, Forbidden, Misconfigured
from ..policy import Policy, load_policy
from ..settings import KEY_ID
from ..variants import InfoVariant, Variant
from .request import parse, percent_decode

PARAM = "s"
# A key id names a secret in the edge's KeyValueStore (KVS_PREFIX + id) and in SIGNING_KEYS.
KVS_PREFIX = "signing-key-"
# <key id>.<mac>: the mac is the unpadded base64url of a 32-byte HMAC-SHA256.
SIGNATURE = re.compile(r"^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})\Z")
# An absolute URL's scheme and host; `//host/…` is a path (its empty segment is a 400).
SCHEME_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def signed_text(variant: Variant | InfoVariant) -> str:
    """What is signed: the canonical URI, a negotiated format written ``f=auto``."""
    if isinstance(variant, InfoVariant) or not variant.negotiated:
        return variant.canonical_uri
    head, _, _ = variant.canonical_uri.rpartition(",f=")
    return f"{head},f=auto"


def mac(text: str, secret: str) -> str:
    """Unpadded base64url HMAC-SHA256 of text under secret (both as UTF-8)."""
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signature(variant: Variant | InfoVariant, key_id: str, secret: str) -> str:
    """The ``s`` value for a variant: ``<key id>.<mac>``."""
    if not KEY_ID.match(key_id):
        raise ValueError("signing key id must be 1-32 characters of A-Z a-z 0-9 _ -")
    return f"{key_id}.{mac(signed_text(variant), secret)}"


def sign_url(url: str, key_id: str, secret: str, policy: Policy | None = None) -> str:
    """A public or canonical URL (path and query, or absolute) with its ``s`` appended.

    The URL is parsed the way the edge parses it, so a URL the edge would refuse raises the
    same BadRequest here instead of producing a signature for nothing. Any ``s`` already in
    the query is replaced.
    """
    prefix, path, query, fragment = _split(url)
    kept = [p for p in query.split("&") if p and p.partition("=")[0] != PARAM]
    variant = parse(path, "&".join(kept), None, policy or load_policy())
    kept.append(f"{PARAM}={signature(variant, key_id, secret)}")
    return f"{prefix}{path}?{'&'.join(kept)}{fragment}"


def new_secret() -> str:
    """A fresh 256-bit secret, base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def parameter(raw_query: str | None) -> str | None:
    """The raw ``s`` of a query, percent-decoded; None when absent. Repeats are a 400."""
    found = None
    for piece in (raw_query or "").split("&"):
        name, _, value = piece.partition("=")
        if name != PARAM:
            continue
        if found is not None:
            raise BadRequest(f"repeated parameter: {PARAM}", param=PARAM)
        found = percent_decode(
            value, BadRequest(f"invalid {PARAM}: bad percent-encoding", param=PARAM)
        )
    return found


def verify_request(
    variant: Variant | InfoVariant,
    raw_query: str | None,
    policy: Policy,
    keys: Mapping[str, str],
) -> str | None:
    """The edge's and the origin's check of one parsed request: the verified ``s``, or None.

    With signing off the query is not even read for ``s`` (a repeated one is no error).
    """
    if policy.signing_mode == "off":
        return None
    if not keys:
        raise Misconfigured(f"signing is {policy.signing_mode} but no signing keys are set")
    return check(variant, parameter(raw_query), policy, keys)


def check(
    variant: Variant | InfoVariant,
    value: str | None,
    policy: Policy,
    keys: Mapping[str, str],
) -> str | None:
    """Enforce the policy's signing mode; return the verified ``s`` (None: none needed).

    ``keys`` maps key ids to secrets (the KeyValueStore at the edge, SIGNING_KEYS here).
    """
    mode = policy.signing_mode
    if mode == "off" or (value is None and mode == "optional"):
        return None
    if value is None:
        raise Forbidden("missing signature")
    match = SIGNATURE.match(value)
    if not match:
        raise Forbidden("malformed signature")
    key_id, given = match.groups()
    secret = keys.get(key_id)
    if secret is None:
        raise Forbidden("unknown signing key")
    if not hmac.compare_digest(given, mac(signed_text(variant), secret)):
        raise Forbidden("bad signature")
    return value


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme://host, path, query, #fragment) of an absolute URL or of a path."""
    url, hash_, fragment = url.partition("#")
    match = SCHEME_HOST.match(url)
    prefix = match.group(0) if match else ""
    path, _, query = url[len(prefix) :].partition("?")
    return prefix, path, query, hash_ + fragment
