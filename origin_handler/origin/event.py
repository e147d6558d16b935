"""The function-URL event (payload format 2.0), read once into a small typed object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HttpRequest:
    """What the request path needs from a function-URL event: method, raw path, query, Accept."""

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]

    @property
    def accept(self) -> str | None:
        """The Accept header, if any."""
        return self.headers.get("accept")

    @property
    def head(self) -> bool:
        """True for HEAD: same headers, empty body."""
        return self.method == "HEAD"

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> HttpRequest:
        """Parse a payload-2.0 event; absent fields get the values a bare GET would have.

        Header names are lower-cased (function URLs already send them so; a hand-written
        test event may not). Values are kept raw: the path stays percent-encoded.
        """
        http = (event.get("requestContext") or {}).get("http") or {}
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        return cls(
            method=str(http.get("method") or "GET").upper(),
            raw_path=str(event.get("rawPath") or "/"),
            raw_query=str(event.get("rawQueryString") or ""),
            headers=headers,
        )

    def as_event(self) -> dict[str, Any]:
        """The payload-2.0 event CloudFront's origin request becomes at a function URL."""
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "headers": dict(self.headers),
            "requestContext": {
                "http": {"method": self.method, "path": self.raw_path, "protocol": "HTTP/1.1"},
                "routeKey": "$default",
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }
