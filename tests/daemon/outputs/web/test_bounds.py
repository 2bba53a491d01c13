"""What anyone can take from the dashboard without its token is bounded: an idle or unfinished
connection is closed after ``REQUEST_TIMEOUT_S``, endless header lines get 431, connections past
``MAX_CONNECTIONS`` get a 503 at once (no thread), and the server answers again as soon as they
are gone. (``benchmarks/web_connections.py`` measures 1000 at once.)"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from genrecast.daemon.outputs.web import bounds, server

from tests.support.synthetic_dashboard import SyntheticDashboard

TIMEOUT_S = 1.0
LIMIT = 20


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch) -> Iterator[SyntheticDashboard]:
    monkeypatch.setattr(server, "REQUEST_TIMEOUT_S", TIMEOUT_S)
    monkeypatch.setattr(bounds, "MAX_CONNECTIONS", LIMIT)
    web = SyntheticDashboard(3).start()
    try:
        yield web
    finally:
        web.close()


def _connect(web: SyntheticDashboard) -> socket.socket:
    return socket.create_connection(("127.0.0.1", web.server.port), timeout=10)


def _get(web: SyntheticDashboard, path: str = "/api/status") -> bytes:
    with _connect(web) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _closed_within(sock: socket.socket, limit_s: float) -> float:
    t0 = time.monotonic()
    sock.settimeout(limit_s)
    while sock.recv(4096):
        pass
    return time.monotonic() - t0


def test_idle_and_unfinished_requests_are_closed(dashboard: SyntheticDashboard) -> None:
    idle = _connect(dashboard)  # connects, sends nothing
    slow = _connect(dashboard)  # sends half a request head, then nothing
    slow.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    kept = _connect(dashboard)  # one answered request, then idles on the kept-alive connection
    kept.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert kept.recv(12) == b"HTTP/1.1 200"
    try:
        for sock in (idle, slow, kept):
            assert _closed_within(sock, 3 * TIMEOUT_S + 5) < 3 * TIMEOUT_S + 4
    finally:
        for sock in (idle, slow, kept):
            sock.close()


def test_endless_header_lines_get_431(dashboard: SyntheticDashboard) -> None:
    with _connect(dashboard) as sock:
        sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for i in range(99):  # http.server alone took 99 lines of 64 KiB: 6 MB a request
                sock.sendall(f"X-Junk-{i}: ".encode() + b"j" * 65_000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        assert sock.recv(12) == b"HTTP/1.1 431"


def test_connections_past_the_bound_are_refused_at_once(dashboard: SyntheticDashboard) -> None:
    held = [_connect(dashboard) for _ in range(LIMIT)]
    try:
        time.sleep(0.3)  # all accepted
        t0 = time.monotonic()
        answer = _get(dashboard)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
        assert time.monotonic() - t0 < 1.0
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5  # served again once their threads saw them go
    while not (answer := _get(dashboard)).startswith(b"HTTP/1.1 200"):
        assert time.monotonic() < deadline, answer[:100]
        time.sleep(0.05)
    assert dashboard.server.httpd.refused >= 1  # type: ignore[attr-defined]
    assert threading.active_count() < 2 * LIMIT


@pytest.mark.parametrize("method, status", [("HEAD", b"200"), ("OPTIONS", b"204")])
def test_head_and_options_are_answered(dashboard: SyntheticDashboard, method: str,
                                       status: bytes) -> None:
    """They were 501 ("Unsupported method"); HEAD gets GET's headers without the body."""
    with _connect(dashboard) as sock:
        sock.sendall(f"{method} /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status), head
    assert body == b""
    if method == "OPTIONS":
        assert b"Allow: GET, HEAD, OPTIONS" in head
    else:
        assert b"Content-Type: application/json" in head
