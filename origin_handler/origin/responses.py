"""Function-URL response dicts: images, image info, redirects and errors; every header here."""

from __future__ import annotations

import base64
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from ..errors import OriginError

Response = dict[str, Any]

# Headers counted against the 6 MB function-URL limit next to the base64 body.
HEADER_ALLOWANCE = 16 * 1024
# The methods viewers may use; OPTIONS so that a preflighted fetch() is not refused (the
# CORS headers themselves are added at the edge by CloudFront's response headers policy).
ALLOW = "GET, HEAD, OPTIONS"
PREFLIGHT_MAX_AGE = 86400


def cache_control_image(browser_max_age: int, cdn_max_age: int) -> str:
    """Long at the CDN (invalidated on change), configurable in browsers."""
    return f"public, max-age={browser_max_age}, s-maxage={cdn_max_age}"


def base64_size(n: int) -> int:
    """Length of n bytes once base64-encoded."""
    return 4 * ((n + 2) // 3)


def fits_function_url(body_len: int, limit: int) -> bool:
    """Whether a base64 body of this size fits a function-URL answer."""
    return base64_size(body_len) + HEADER_ALLOWANCE <= limit


def image(
    body: bytes,
    *,
    content_type: str,
    etag: str,
    last_modified: datetime | None,
    cache_control: str,
    vary_accept: bool,
    server_timing: dict[str, float],
    head: bool = False,
) -> Response:
    """A 200 image answer (base64 body; empty for HEAD)."""
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Cache-Control": cache_control,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if server_timing:  # an answer from the derived store took no pipeline time
        headers["Server-Timing"] = ", ".join(f"{k};dur={v:.1f}" for k, v in server_timing.items())
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    if vary_accept:
        headers["Vary"] = "Accept"
    return {
        "statusCode": 200,
        "headers": headers,
        "body": "" if head else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": not head,
    }


def info(
    body: bytes,
    *,
    etag: str,
    last_modified: datetime | None,
    cache_control: str,
    server_timing: dict[str, float],
    head: bool = False,
) -> Response:
    """A 200 image-info answer: JSON, as text, with the headers of the images it describes."""
    answer = image(
        body,
        content_type="application/json",
        etag=etag,
        last_modified=last_modified,
        cache_control=cache_control,
        vary_accept=False,  # one document per original, whatever the Accept
        server_timing=server_timing,
        head=head,
    )
    answer["body"] = "" if head else body.decode("utf-8")
    answer["isBase64Encoded"] = False
    return answer


def redirect(location: str) -> Response:
    """A 302 to the same public URL, for variants too big for a function-URL answer."""
    return {
        "statusCode": 302,
        "headers": {"Location": location, "Cache-Control": "no-store", "Content-Length": "0"},
        "body": "",
        "isBase64Encoded": False,
    }


def preflight() -> Response:
    """A 204 to OPTIONS: which methods are served; cacheable, as it never varies by path."""
    return {
        "statusCode": 204,
        "headers": {
            "Allow": ALLOW,
            "Cache-Control": f"public, max-age={PREFLIGHT_MAX_AGE}",
            "Content-Length": "0",
        },
        "body": "",
        "isBase64Encoded": False,
    }


def error(err: OriginError, not_found_max_age: int, head: bool = False) -> Response:
    """A short plain-text error; 4xx briefly cacheable, 403 and 5xx never.

    A 403 (a refused signature) is cached nowhere: CloudFront keys it by the canonical URI
    alone, so a cached one would refuse the correctly signed requests for that variant too.
    """
    if err.status >= 500:
        cache = "no-store"
    elif err.status == 403:
        cache = "private, no-store"
    elif err.status == 404:
        cache = f"public, max-age={not_found_max_age}"
    else:
        cache = "public, max-age=60"
    body = f"{err.status} {err.message}\n"
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": str(len(body.encode())),
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
    }
    if err.status == 405:  # RFC 9110 15.5.6: a 405 lists the methods that are allowed
        headers["Allow"] = ALLOW
    return {
        "statusCode": err.status,
        "headers": headers,
        "body": "" if head else body,
        "isBase64Encoded": False,
    }
