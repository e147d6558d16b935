"""A TCP proxy on loopback that stalls chosen requests (accepts, reads, never answers).

Requests it does not stall are forwarded to the upstream with ``Connection: close`` added,
so every connection carries exactly one request and the choice is made per request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit


class StallingProxy:
    """``stall(request_line)`` decides; stalled sockets stay open until ``close()``."""

    def __init__(self, upstream: str, stall: Callable[[str], bool] = lambda line: True) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.stall = stall
        self.stalled: list[str] = []
        self.forwarded: list[str] = []
        self._held: list[socket.socket] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def close(self) -> None:
        """Stop accepting and drop every held connection."""
        self._closed.set()
        self._sock.close()
        for conn in self._held:
            conn.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    conn.close()
                    return
                head += chunk
        except OSError:
            conn.close()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        if self.stall(line):
            self.stalled.append(line)
            self._held.append(conn)  # never answered; closed by close()
            return
        self.forwarded.append(line)
        first, rest = head.split(b"\r\n", 1)
        kept = [h for h in rest.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        head = first + b"\r\nConnection: close\r\n" + b"\r\n".join(kept)
        upstream = socket.create_connection(self.upstream)
        upstream.sendall(head)  # before any body bytes the client sends next
        threading.Thread(target=_pipe, args=(conn, upstream), daemon=True).start()
        _pipe(upstream, conn)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
