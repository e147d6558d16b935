"""`image-origin serve`: the whole request path on one machine over real HTTP."""

from __future__ import annotations

import html
import ipaddress
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from urllib.parse import urlsplit

from .. import logs
from ..errors import OriginError
from ..origin import responses, signing
from ..pipeline.formats import sniff
from ..variants import encode_key
from .edge import Edge, EdgeResponse
from .edge_client import LOCAL_INVALIDATE_PATH

DEMO_WIDTHS = (256, 384, 640, 750, 828, 1080, 1200, 1920)
MAX_INVALIDATION_BODY = 1 << 20
DEMO_SIZES = "(max-width: 640px) 100vw, (max-width: 1200px) 50vw, 33vw"
# The methods viewers may use (POST only on the loopback invalidation path): the function's.
ALLOW = responses.ALLOW
# What the distribution's response headers policy adds for a CORS request with the default
# cors_allowed_origins = ["*"] (terraform/cdn.tf): the images are public, no credentials.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": ALLOW,
    "Access-Control-Max-Age": "86400",
}


def plain_error(status: int, message: str) -> EdgeResponse:
    """A one-line text/plain error shaped like the origin's own (responses.error), never cached."""
    err = OriginError(message)
    err.status = status
    answer = responses.error(err, 0)
    headers = {**answer["headers"], "Cache-Control": "no-store"}
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ALLOW
    return EdgeResponse(status, headers, answer["body"].encode())


def demo_signer(edge: Edge) -> Callable[[str], str]:
    """How the demo writes its URLs: as they are, or signed with the first of SIGNING_KEYS
    when the policy wants signatures (a site would sign on its server, as here)."""
    policy, keys = edge.origin.policy, edge.origin.settings.signing_secrets
    if policy.signing_mode == "off" or not keys:
        return lambda url: url
    key_id = min(keys)
    return lambda url: signing.sign_url(url, key_id, keys[key_id], policy)


def demo_info(edge: Edge, url: str) -> dict | None:
    """The original's info document through the edge (``?info``), or None when it has none."""
    path, _, query = demo_signer(edge)(f"{url}?info").partition("?")
    answer = edge.request("GET", path, query, {"accept": "*/*"})
    if answer.status != 200:
        return None
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def demo_page(edge: Edge) -> bytes:
    """The gallery: every original as a responsive srcset through the edge.

    Each ``<img>`` takes its width, height and blur placeholder from the original's info
    document, as a site would: the box is right before any byte of the image arrives (no
    layout shift) and shows the placeholder until the image paints over it.
    """
    store = edge.origin.store
    widths = [w for w in DEMO_WIDTHS if w in edge.origin.policy.widths]
    sign = demo_signer(edge)
    figures = []
    for key in sorted(store.list_originals("")):
        try:
            head = store.peek_original(key, 16)
        except OriginError:
            continue
        if sniff(head) is None:  # only images get a figure; the rest would be a 415
            continue
        url = encode_key(key)
        srcset = ", ".join(f"{html.escape(sign(f'{url}?w={w}&q=75'))} {w}w" for w in widths)
        info = demo_info(edge, encode_key(key))
        box = ""
        if info is not None:
            blur = html.escape(info["blurDataURL"], quote=True)
            box = (
                f' width="{int(info["width"])}" height="{int(info["height"])}"'
                f' style="background:url(&quot;{blur}&quot;) center / cover no-repeat"'
                f' data-placeholder="{blur}"'
            )
        figures.append(
            f'<figure><img src="{html.escape(sign(f"{url}?w=640&q=75"))}" srcset="{srcset}"'
            f' sizes="{DEMO_SIZES}"'
            f' alt="{html.escape(key)}" loading="eager"{box}>'
            f'<figcaption><b>{html.escape(key)}</b><br><span class="served">loading…</span>'
            "</figcaption></figure>"
        )
    template = files(__package__).joinpath("demo.html").read_text(encoding="utf-8")
    return template.replace("__FIGURES__", "\n".join(figures)).encode()


def make_handler(edge: Edge) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one Edge."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "image-origin-local"
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
        # delayed ACK holds the body back ~40 ms per answer.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_OPTIONS(self) -> None:
            # CloudFront forwards a preflight to the function, which answers 204 (allowed
            # methods); the response headers policy adds the CORS headers.
            answer = responses.preflight()
            headers = {**answer["headers"]}
            if self.headers.get("Access-Control-Request-Headers"):
                headers["Access-Control-Allow-Headers"] = "*"
            logs.line(
                source="edge",
                method="OPTIONS",
                path=urlsplit(self.path).path[:256],
                cache="preflight",
                status=answer["statusCode"],
                bytes=0,
                ms=0.0,
            )
            self._send(EdgeResponse(answer["statusCode"], headers, b""))

        def do_POST(self) -> None:
            if urlsplit(self.path).path != LOCAL_INVALIDATE_PATH:
                self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)
                return
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                # Like CloudFront's API, flushing the cache is not for viewers: loopback only,
                # even when the endpoint listens on another interface.
                self._refuse(HTTPStatus.FORBIDDEN, "invalidation is for loopback only")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 <= length <= MAX_INVALIDATION_BODY:
                    raise ValueError("body size")
                paths = json.loads(self.rfile.read(length) or b"{}").get("paths", [])
                count = edge.cache.invalidate([str(p) for p in paths])
            except (ValueError, AttributeError):
                self._refuse(HTTPStatus.BAD_REQUEST, "bad json")
                return
            body = json.dumps({"invalidated": count}).encode()
            self._send(EdgeResponse(200, {"Content-Type": "application/json"}, body))

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            if parts.path in ("/", "/index.html"):
                page = demo_page(edge)
                answer = EdgeResponse(
                    200,
                    {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
                    page,
                )
            elif parts.path == "/favicon.ico":
                answer = EdgeResponse(404, {"Content-Type": "text/plain"}, b"404\n")
            else:
                # The edge answers 304s itself and writes the request's one log line.
                answer = edge.request(method, parts.path, parts.query, dict(self.headers.items()))
            self._send(answer, head=method == "HEAD")

        def _send(self, answer: EdgeResponse, head: bool = False) -> None:
            self.send_response(answer.status)
            headers = dict(answer.headers)
            request_headers = getattr(self, "headers", None)  # unset for a broken request line
            if request_headers is not None and request_headers.get("Origin"):  # CORS request
                headers.update(CORS_HEADERS)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if not head and answer.status != 304:
                self.wfile.write(answer.body)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """Errors http.server itself emits, in the server's shape instead of an HTML page.

            The standard library calls this for an unknown method (501, answered as 405: only
            GET, HEAD and OPTIONS are served), a too-long request line (414), a malformed
            request line (400) and too-long or too many headers (431). Its message may quote
            the request, so it goes to the log only; the body is the status phrase.
            """
            if code == HTTPStatus.NOT_IMPLEMENTED:  # "Unsupported method": no do_<METHOD>
                code = HTTPStatus.METHOD_NOT_ALLOWED
            status = HTTPStatus(code)
            self._refuse(status, status.phrase.lower(), detail=message)

        def _refuse(self, status: HTTPStatus, message: str, detail: str | None = None) -> None:
            """The one error path of the server itself: a plain line, one JSON log line."""
            logs.line(
                path=(getattr(self, "path", "") or "")[:256],  # unset when the line was too long
                method=(getattr(self, "command", "") or "")[:16],
                source="server",
                status=int(status),
                error=(detail or message)[:256],
                error_code=status.name.lower(),
            )
            answer = plain_error(status, message)
            # The request's body (or the rest of a broken request) is left unread: close.
            answer.headers["Connection"] = "close"
            self._send(answer, head=getattr(self, "command", None) == "HEAD")

        def log_message(self, format: str, *args: object) -> None:
            logs.line(logging.DEBUG, access=format % args)

    return Handler


def make_server(edge: Edge, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A threading HTTP server for the edge (port 0 picks a free one)."""
    server = ThreadingHTTPServer((host, port), make_handler(edge))
    server.daemon_threads = True
    return server
