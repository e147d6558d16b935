"""A local stand-in for CloudFront: normalizer, cache keyed by canonical URI, origin group."""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .. import logs
from ..errors import OriginError
from ..origin import responses, signing
from ..origin.event import HttpRequest
from ..origin.handler import Origin
from ..origin.request import parse
from ..variants import Variant

# What CloudFront sends a function URL on a miss: no viewer headers are forwarded.
EDGE_HEADERS = {"host": "localhost", "user-agent": "Amazon CloudFront"}


@dataclass
class EdgeResponse:
    """What the edge sends a viewer."""

    status: int
    headers: dict[str, str]
    body: bytes
    # What the original was (its ETag) when this answer was fetched; None: not checked.
    source: str | None = None


@dataclass
class EdgeCache:
    """LRU of 200 answers keyed by canonical URI, bounded in bytes like a CloudFront POP isn't."""

    max_bytes: int = 256 * 1024 * 1024
    _items: OrderedDict[str, EdgeResponse] = field(default_factory=OrderedDict)
    _size: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Bumped by every invalidation: an answer fetched before one must not be cached after.
    generation: int = 0

    def get(self, uri: str) -> EdgeResponse | None:
        """A cached answer, refreshed as most recently used."""
        with self._lock:
            item = self._items.get(uri)
            if item is not None:
                self._items.move_to_end(uri)
            return item

    def put(self, uri: str, item: EdgeResponse, generation: int) -> None:
        """Cache an answer fetched at `generation`, evicting LRU entries beyond max_bytes."""
        with self._lock:
            if generation != self.generation:
                return
            old = self._items.pop(uri, None)
            self._size -= len(old.body) if old else 0
            self._items[uri] = item
            self._size += len(item.body)
            while self._size > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted.body)

    def invalidate(self, paths: list[str]) -> int:
        """Drop entries matching CloudFront-style paths (exact, or a trailing `*` prefix)."""
        with self._lock:
            self.generation += 1
            doomed = [
                uri
                for uri in self._items
                if any(uri.startswith(p[:-1]) if p.endswith("*") else uri == p for p in paths)
            ]
            for uri in doomed:
                self._size -= len(self._items.pop(uri).body)
            return len(doomed)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Edge:
    """Viewer request → normalize → cache → derived store → origin function, like the stack."""

    origin: Origin
    cache: EdgeCache = field(default_factory=EdgeCache)

    # Whether a cached answer is checked against its original (local directories, which
    # change without invalidations): a changed original makes the entry stale, a miss.
    revalidate_originals: bool = False

    def request(
        self, method: str, raw_path: str, raw_query: str, headers: dict[str, str]
    ) -> EdgeResponse:
        """Answer one viewer request, and write its one JSON log line (the edge's access log).

        The line's ``cache`` is ``hit``, ``miss``, ``stale`` (cached, but its original has
        changed since: fetched again) or ``error`` (refused here, like the viewer-request
        function does); with ``status``, ``path``, ``uri``, ``bytes`` sent and ``ms``.
        """
        started = time.perf_counter()
        fields: dict[str, object] = {"source": "edge", "method": method, "path": raw_path}
        answer = self._request(method, raw_path, raw_query, headers, fields)
        fields["status"] = answer.status
        fields["bytes"] = 0 if method == "HEAD" else len(answer.body)
        fields["ms"] = round((time.perf_counter() - started) * 1000, 1)
        logs.line(**fields)
        return answer

    def _request(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: dict[str, str],
        fields: dict[str, object],
    ) -> EdgeResponse:
        accept = _header(headers, "accept")
        try:
            req = parse(raw_path, raw_query, accept, self.origin.policy)
            # The viewer-request function's signature check, with SIGNING_KEYS as its store.
            signature = signing.verify_request(
                req, raw_query, self.origin.policy, self.origin.settings.signing_secrets
            )
        except OriginError as err:
            # The deployed edge answers these in the CloudFront Function.
            fields.update(cache="error", error=err.message, error_code=err.code)
            answer = responses.error(err, self.origin.settings.not_found_max_age)
            return _to_edge(answer, "Error")
        uri = req.canonical_uri
        fields["uri"] = uri
        # The stack's viewer-response function adds Vary whatever origin answered.
        vary = {"Vary": "Accept"} if req.negotiated else {}
        source = self.origin.store.original_etag(req.key) if self.revalidate_originals else None
        hit = self.cache.get(uri)
        if hit is not None and hit.source == source:
            fields["cache"] = "hit"
            return _conditional(_with(hit, {"X-Cache": "Hit from local-edge", **vary}), headers)
        fields["cache"] = "miss" if hit is None else "stale"
        generation = self.cache.generation
        answer = self._origin_group(method, uri, req, signature)
        answer.source = source
        if answer.status == 200 and method == "GET":  # a HEAD answer has no body to cache
            self.cache.put(uri, answer, generation)
        return _conditional(_with(answer, {"X-Cache": "Miss from local-edge", **vary}), headers)

    def _origin_group(
        self, method: str, uri: str, variant: Variant, signature: str | None
    ) -> EdgeResponse:
        """Derived store first (like the S3 origin), the origin function on a miss."""
        try:
            derived = self.origin.store.get_derived(variant.derived_key)
        except OriginError:  # like CloudFront's failover: the function answers instead
            derived = None
        if derived is not None:
            # S3 serves the stored object's own headers; the distribution's response headers
            # policy adds nosniff: built by the one image-response builder, without timings.
            answer = responses.image(
                derived.body,
                content_type=derived.content_type,
                etag=derived.etag,
                last_modified=derived.last_modified,
                cache_control=self.origin.cache_control,
                vary_accept=False,  # the viewer-response function adds Vary (request())
                server_timing={},
                head=method == "HEAD",
            )
            return EdgeResponse(200, answer["headers"], derived.body)
        # Only a verified s is forwarded, as the origin request policy does.
        query = "" if signature is None else f"{signing.PARAM}={signature}"
        event = HttpRequest(method, uri, query, EDGE_HEADERS).as_event()
        return _to_edge(self.origin.handle(event), None)


def _to_edge(answer: responses.Response, cache_state: str | None) -> EdgeResponse:
    body = answer.get("body", "")
    raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    headers = dict(answer.get("headers", {}))
    if cache_state:
        headers["X-Cache"] = f"{cache_state} from local-edge"
    return EdgeResponse(answer["statusCode"], headers, raw)


def _with(item: EdgeResponse, extra: dict[str, str]) -> EdgeResponse:
    return EdgeResponse(item.status, {**item.headers, **extra}, item.body, item.source)


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


CONDITIONAL_HEADERS = ("Cache-Control", "Vary", "X-Cache")


def _conditional(answer: EdgeResponse, headers: dict[str, str]) -> EdgeResponse:
    """304 for a 200 whose ETag the viewer already has (If-None-Match), as CloudFront does."""
    etag = answer.headers.get("ETag")
    if answer.status == 200 and etag and _header(headers, "if-none-match") == etag:
        kept = {k: v for k, v in answer.headers.items() if k in CONDITIONAL_HEADERS}
        return EdgeResponse(304, {"ETag": etag, **kept}, b"", answer.source)
    return answer
