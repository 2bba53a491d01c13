"""How much the dashboard's HTTP server takes from anyone, token or not.

At most ``MAX_CONNECTIONS`` connections at once (one more is answered 503 at once, in the
accepting thread: no thread, no read); a request has ``REQUEST_TIMEOUT_S`` for each read of its
head and at most ``MAX_HEAD_BYTES`` of it (431 beyond), so a slow or idle connection, kept alive
or never finished, is closed; a listen backlog of ``LISTEN_BACKLOG``, so a burst of connections
waits to be accepted instead of being dropped. Before: 200 slow connections held 200 threads,
60 unfinished requests +342 MB, and a third of 300 simultaneous pages got nothing in 10 s.
"""

from __future__ import annotations

import http.client
import threading
from http.server import ThreadingHTTPServer
from typing import Any

REQUEST_TIMEOUT_S = 10.0  # per read of a request's head, and idle between kept-alive requests
MAX_CONNECTIONS = 256  # open at once (each holds a thread); /events pages count too
MAX_HEAD_BYTES = 80 * 1024  # request line (64 KiB at most, http.server's own limit) + headers
LISTEN_BACKLOG = 1024  # connections the kernel queues before we accept (was socketserver's 5)
BUSY_REPLY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Retry-After: 5\r\nConnection: close\r\nContent-Length: 43\r\n\r\n"
              b"503: too many connections; try again soon\n")


class HeadBudget:
    """The connection's input, read for at most ``MAX_HEAD_BYTES`` per request head: a client
    sending endless header lines gets 431 instead of holding megabytes (http.server allows 100
    lines of 64 KiB each)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.left = MAX_HEAD_BYTES

    def readline(self, limit: int = -1) -> bytes:
        if self.left <= 0:
            raise http.client.LineTooLong("request head")  # http.server answers 431
        line: bytes = self.raw.readline(min(limit, self.left) if limit >= 0 else self.left)
        self.left -= len(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class BoundedServer(ThreadingHTTPServer):
    """A threading HTTP server with a bound on open connections and a deep listen backlog."""

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open = 0
        self._open_lock = threading.Lock()
        self.refused = 0
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = self._open >= MAX_CONNECTIONS
            if not full:
                self._open += 1
        if full:  # answered here, in the accepting thread: no thread, no read
            self.refused += 1
            try:
                request.settimeout(0)
                request.send(BUSY_REPLY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed_one()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed_one()

    def _closed_one(self) -> None:
        with self._open_lock:
            self._open -= 1
