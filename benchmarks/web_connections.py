"""The dashboard under many connections at once, without a token: served or refused, in time.

    python benchmarks/web_connections.py                    # 1000 connections, 200 idle ones
    python benchmarks/web_connections.py --connections 2000 --path /events

The server (the real hub and HTTP server with 10 synthetic sources, see
``tests/support/synthetic_dashboard.py``) runs in a child process; this process opens the
connections at once from one thread (non-blocking sockets) and sends each a request. Reported:
how many got 200, how many were refused (503), how many got nothing within ``--wait`` seconds
or failed to connect, when the last answer came, and the server's threads and resident memory
at the peak. Then ``--idle`` connections that send nothing (a slow client or an attacker) are
held open, and one ordinary request is timed beside them, and again after the server closed
them. The limits are ``daemon/outputs/web/bounds.py``'s.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parents[1]
SERVER = """
import sys, time
sys.path.insert(0, {repo!r})
from tests.support.synthetic_dashboard import SyntheticDashboard
web = SyntheticDashboard(10).start()
print(web.server.port, flush=True)
sys.stdin.read()
web.close()
"""


def _proc_status(pid: int) -> tuple[int, float]:
    """(threads, resident MiB) of ``pid``."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


def burst(port: int, pid: int, count: int, path: str, wait_s: float) -> dict[str, float]:
    """``count`` connections at once, each sending one GET ``path``; how each ended."""
    sel = selectors.DefaultSelector()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").encode()
    t0 = time.monotonic()
    outcome = {"ok": 0, "refused": 0, "other": 0, "no_answer": 0, "connect_failed": 0}
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect_ex(("127.0.0.1", port))
        except OSError:
            outcome["connect_failed"] += 1
            sock.close()
            continue
        sel.register(sock, selectors.EVENT_WRITE, b"")
    last_s = 0.0
    peak_threads, peak_rss = _proc_status(pid)
    deadline = t0 + wait_s
    while sel.get_map() and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.1):
            sock = cast(socket.socket, key.fileobj)
            if events & selectors.EVENT_WRITE:
                try:
                    sock.send(request)
                except OSError:
                    outcome["connect_failed"] += 1
                    sel.unregister(sock)
                    sock.close()
                    continue
                sel.modify(sock, selectors.EVENT_READ, b"")
                continue
            try:
                data = sock.recv(16)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 200"):
                outcome["ok"] += 1
            elif data.startswith(b"HTTP/1.1 503"):
                outcome["refused"] += 1
            else:
                outcome["other"] += 1
            last_s = time.monotonic() - t0
            sel.unregister(sock)
            sock.close()
        threads, rss = _proc_status(pid)
        peak_threads, peak_rss = max(peak_threads, threads), max(peak_rss, rss)
    outcome["no_answer"] = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    sel.close()
    return {**outcome, "last_answer_s": last_s, "peak_threads": peak_threads,
            "peak_rss_mib": peak_rss}


def timed_get(port: int, timeout_s: float = 15.0) -> str:
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close"
                         b"\r\n\r\n")
            head = sock.recv(12).decode(errors="replace")
    except OSError as exc:
        head = type(exc).__name__
    return f"{head or 'closed'} in {time.monotonic() - t0:.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--path", default="/api/status")
    ap.add_argument("--wait", type=float, default=10.0)
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(repo=str(REPO))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    port = int(server.stdout.readline())
    try:
        threads, rss = _proc_status(server.pid)
        print(f"server at rest: {threads} threads, {rss:.1f} MiB resident")
        result = burst(port, server.pid, args.connections, args.path, args.wait)
        print(f"{args.connections} connections at once to {args.path}: "
              + ", ".join(f"{k} {v:g}" if isinstance(v, int) else f"{k} {v:.2f}"
                          for k, v in result.items()))
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
        time.sleep(1.0)
        threads, rss = _proc_status(server.pid)
        print(f"{args.idle} idle connections held: {threads} threads, {rss:.1f} MiB; "
              f"a request beside them: {timed_get(port)}")
        time.sleep(12.0)  # past the request timeout
        threads, rss = _proc_status(server.pid)
        print(f"12 s later: {threads} threads, {rss:.1f} MiB; a request: {timed_get(port)}")
        for sock in idle:
            sock.close()
    finally:
        server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
