"""HTTP for the dashboard: the page, ``/events`` (SSE), ``/api/status``, ``/api/timeline``.

Python's ``ThreadingHTTPServer``: no new dependency, a thread per connection, and the work per
request is small (the page is three static files, the API serialises dicts that already exist).
The threads run beside the audio loop and share the GIL with it; ``benchmarks/web_cost.py``
measures what that costs. A thread per open page is fine for tens of pages, not for thousands.

Bounds on connections, time and request size: ``bounds.py``.

Authentication: with a token configured every request needs ``Authorization: Bearer TOKEN`` or
the ``genrecast_token`` cookie, which ``/?token=TOKEN`` sets (then redirects to ``/`` so the
token leaves the address bar; ``EventSource`` cannot send headers, but it sends a same-origin
cookie). Without a token (loopback only) the ``Host`` header must name a loopback address, so a
web page elsewhere cannot reach the dashboard through DNS rebinding.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import socket
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from genrecast.daemon.errors import ServiceUnavailable
from genrecast.daemon.outputs.web.address import host_header_is_loopback
from genrecast.daemon.outputs.web.bounds import (
    MAX_HEAD_BYTES,
    REQUEST_TIMEOUT_S,
    BoundedServer,
    HeadBudget,
)
from genrecast.daemon.outputs.web.hub import PING_S, RETRY_MS, EventHub
from genrecast.daemon.outputs.web.state import Dashboard
from genrecast.daemon.wire.events import KINDS

log = logging.getLogger(__name__)

COOKIE = "genrecast_token"
STATIC = {  # path → (file in static/, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# Nothing from anywhere else: the page works offline and cannot leak to third parties.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
WRITE_TIMEOUT_S = 10.0  # a client that takes no bytes for this long is gone
MAX_WRITE_BATCHES = 64  # queued batches joined into one send
ALLOWED_METHODS = "GET, HEAD, OPTIONS"


def _load_static() -> dict[str, tuple[bytes, str]]:
    root = resources.files("genrecast.daemon.outputs.web") / "static"
    return {path: ((root / name).read_bytes(), ctype) for path, (name, ctype) in STATIC.items()}


def _split(values: list[str]) -> list[str]:
    """``?source=a,b&source=c`` → ``[a, b, c]``."""
    return [v for value in values for v in value.split(",") if v]


class _QuietServer(BoundedServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A page that went away mid-answer is normal; anything else is logged, never printed
        as a bare traceback on stderr (socketserver's default)."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            log.debug("web: client %s went away", client_address)
        else:
            log.exception("web: request from %s failed", client_address)


class WebServer:
    """Serves the dashboard on ``host:port`` in background threads until ``close()``."""

    def __init__(self, host: str, port: int, token: str, hub: EventHub, dashboard: Dashboard,
                 status: Callable[[], dict[str, Any]]) -> None:
        self.host, self.token = host, token
        self.hub, self.dashboard, self.status = hub, dashboard, status
        self.static = _load_static()
        handler = _make_handler(self)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_cls = type("DashboardServer", (_QuietServer,), {"address_family": family})
        try:
            self.httpd: ThreadingHTTPServer = server_cls((host, port), handler)
        except OSError as exc:
            raise ServiceUnavailable(
                f"cannot serve the dashboard on {host}:{port}: {exc.strerror}; choose a free "
                "port with --web HOST:PORT (or [web] listen)") from None
        self.port = int(self.httpd.server_address[1])
        self._thread: Any = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> WebServer:
        import threading

        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={
            "poll_interval": 0.2}, name="genrecast-web", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(2)
            self._thread = None
        self.httpd.server_close()

    # -- request checks (called from handler threads) ---------------------------------------

    def authorised(self, headers: Any) -> bool:
        if not self.token:
            return True
        auth = headers.get("Authorization", "")
        if auth.startswith("Bearer ") and hmac.compare_digest(
                auth[7:].strip().encode(), self.token.encode()):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("Cookie", ""))
        except CookieError:
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(),
                                                          self.token.encode())

    def host_allowed(self, host_header: str) -> bool:
        return bool(self.token) or host_header_is_loopback(host_header)

    def token_matches(self, token: str) -> bool:
        return bool(self.token) and hmac.compare_digest(token.encode(), self.token.encode())


def _make_handler(web: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "genrecast"
        protocol_version = "HTTP/1.1"
        head_only = False  # a HEAD request: everything but the body
        timeout = REQUEST_TIMEOUT_S  # the socket's: each read of a request, and idle keep-alive

        def setup(self) -> None:
            super().setup()
            self.rfile = HeadBudget(self.rfile)  # type: ignore[assignment]

        def handle_one_request(self) -> None:
            self.rfile.left = MAX_HEAD_BYTES  # type: ignore[attr-defined]  # per request
            super().handle_one_request()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's
            log.debug("web %s - %s", self.address_string(), format % args)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if not web.host_allowed(self.headers.get("Host", "")):
                self._text(HTTPStatus.FORBIDDEN, "403: unexpected Host header; open the "
                           "dashboard at its loopback address (or configure [web] token)")
                return
            if url.path == "/" and "token" in query:
                self._login(query["token"][0])
                return
            if not web.authorised(self.headers):
                self._text(HTTPStatus.UNAUTHORIZED,
                           "401: this dashboard needs its token; open /?token=TOKEN once, or "
                           "send Authorization: Bearer TOKEN",
                           {"WWW-Authenticate": 'Bearer realm="genrecast"'})
                return
            if url.path in web.static:
                body, ctype = web.static[url.path]
                self._send(HTTPStatus.OK, body, ctype, {"Cache-Control": "no-cache"})
            elif url.path == "/events":
                self._events(query)
            elif url.path == "/api/status":
                self._json(HTTPStatus.OK, {**web.status(), "dashboard": web.dashboard.snapshot(),
                                           "web": {"clients": web.hub.client_count,
                                                   "client_drops": web.hub.client_drops,
                                                   "dropped": web.hub.inbox_dropped}})
            elif url.path == "/api/timeline":
                name = (query.get("source") or [""])[0]
                timeline = web.dashboard.timeline(name)
                if timeline is None:
                    self._json(HTTPStatus.NOT_FOUND, {"error": f"no source named {name!r}"})
                else:
                    self._json(HTTPStatus.OK, {"source": name, **timeline})
            else:
                self._text(HTTPStatus.NOT_FOUND, "404: not here; the dashboard is at /")

        def do_HEAD(self) -> None:  # noqa: N802 - GET's status and headers, no body
            self.head_only = True
            self.do_GET()

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._send(HTTPStatus.NO_CONTENT, b"", "text/plain", {"Allow": ALLOWED_METHODS})

        def do_POST(self) -> None:  # noqa: N802
            self._text(HTTPStatus.METHOD_NOT_ALLOWED, "405: the dashboard only reads (GET)",
                       {"Allow": ALLOWED_METHODS})

        do_PUT = do_DELETE = do_POST  # noqa: N815

        # -- responses ------------------------------------------------------------------------

        def _send(self, status: HTTPStatus, body: bytes, ctype: str,
                  extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            if not self.head_only:
                self.wfile.write(body)

        def _text(self, status: HTTPStatus, text: str,
                  extra: dict[str, str] | None = None) -> None:
            self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8", extra)

        def _json(self, status: HTTPStatus, value: Any) -> None:
            body = json.dumps(value, separators=(",", ":"), allow_nan=False,
                              default=str).encode()
            self._send(status, body, "application/json", {"Cache-Control": "no-store"})

        def _login(self, token: str) -> None:
            if not web.token_matches(token):
                self._text(HTTPStatus.UNAUTHORIZED, "401: wrong token")
                return
            cookie = f"{COOKIE}={web.token}; Path=/; HttpOnly; SameSite=Strict"
            self._send(HTTPStatus.SEE_OTHER, b"", "text/plain",
                       {"Location": "/", "Set-Cookie": cookie})

        def _events(self, query: dict[str, list[str]]) -> None:
            kinds = _split(query.get("kind", []))
            unknown = [k for k in kinds if k not in KINDS]
            if unknown:
                self._text(HTTPStatus.BAD_REQUEST, f"400: unknown kind {unknown[0]!r}; use "
                           f"{', '.join(KINDS)}")
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            for key, value in SECURITY_HEADERS.items():
                self.send_header(key, value)
            self.end_headers()
            self.close_connection = True
            if self.head_only:
                return
            client = web.hub.subscribe(_split(query.get("source", [])), kinds)
            self.connection.settimeout(WRITE_TIMEOUT_S)
            try:
                self.wfile.write(f"retry: {RETRY_MS}\n\n".encode())
                self.wfile.flush()
                while True:
                    try:
                        first = client.queue.get(timeout=2 * PING_S)
                    except queue.Empty:
                        continue  # the hub pings every PING_S; it will be back
                    batch = [first]
                    while first is not None and len(batch) < MAX_WRITE_BATCHES:
                        try:
                            batch.append(client.queue.get_nowait())
                        except queue.Empty:
                            break
                        if batch[-1] is None:
                            break
                    closing = batch[-1] is None
                    data = b"".join(m for m in batch if m is not None)
                    if data:
                        self.wfile.write(data)
                        self.wfile.flush()
                    if closing:
                        return
            except (OSError, ValueError):  # the page went away (reset, timeout, closed file)
                return
            finally:
                web.hub.unsubscribe(client)

    return Handler
