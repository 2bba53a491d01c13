"""`genrecast proxy` as a real process: READY over sd_notify, forwarding, SIGTERM within 2 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import zmq

from tests.support.common import REPO

STOP_LIMIT_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_proxy_forwards_many_publishers_and_stops(tmp_path: Path) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(20)
    front, back = _free_port(), _free_port()
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "GENRECAST_PROXY_FRONTEND": f"tcp://127.0.0.1:{front}",
           "GENRECAST_PROXY_BACKEND": f"tcp://127.0.0.1:{back}"}
    proc = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "proxy"], env=env,
                            stderr=subprocess.PIPE, text=True)
    ctx = zmq.Context()
    try:
        ready = notify.recv(4096).decode()
        assert ready.startswith("READY=1"), ready
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"genrecast.")
        sub.connect(f"tcp://127.0.0.1:{back}")
        pubs = [ctx.socket(zmq.PUB) for _ in range(2)]
        for p in pubs:
            p.connect(f"tcp://127.0.0.1:{front}")
        got: set[bytes] = set()
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            for i, p in enumerate(pubs):
                p.send(f"genrecast.heartbeat host{i}".encode())
                p.send(b"other.topic filtered")
            while sub.poll(50):
                got.add(sub.recv())
        assert got == {b"genrecast.heartbeat host0", b"genrecast.heartbeat host1"}
        for s in (*pubs, sub):
            s.close(linger=0)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
        assert rc == 0, proc.stderr.read() if proc.stderr else ""
        assert elapsed < STOP_LIMIT_S, f"stopped in {elapsed:.2f} s"
        assert notify.recv(4096).decode().startswith("STOPPING=1")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
        ctx.term()
        notify.close()


def test_proxy_pulls_from_daemons_bound_endpoints(tmp_path: Path) -> None:
    """--upstream: the proxy connects to daemons that bind (no change on the daemon side)."""
    ctx = zmq.Context()
    daemons = [ctx.socket(zmq.PUB) for _ in range(2)]
    ports = [d.bind_to_random_port("tcp://127.0.0.1") for d in daemons]
    back = _free_port()
    env = {**os.environ, "GENRECAST_PROXY_FRONTEND": "",
           "GENRECAST_PROXY_UPSTREAM": " ".join(f"tcp://127.0.0.1:{p}" for p in ports),
           "GENRECAST_PROXY_BACKEND": f"tcp://127.0.0.1:{back}"}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "proxy"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "forwarding" in line and str(ports[0]) in line and str(ports[1]) in line, line
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"genrecast.")
        sub.connect(f"tcp://127.0.0.1:{back}")
        got: set[bytes] = set()
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            for i, d in enumerate(daemons):
                d.send(f"genrecast.heartbeat daemon{i}".encode())
            while sub.poll(50):
                got.add(sub.recv())
        assert got == {b"genrecast.heartbeat daemon0", b"genrecast.heartbeat daemon1"}
        sub.close(linger=0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
        for d in daemons:
            d.close(linger=0)
        ctx.term()


def test_proxy_backend_requires_curve(tmp_path: Path) -> None:
    from genrecast.daemon.wire.curve_auth import create_keys

    keys = tmp_path / "keys"
    server, good = create_keys(keys, "proxy"), create_keys(keys, "good")
    (keys / "authorized").mkdir()
    (keys / "authorized" / "good.key").write_bytes(good.public.read_bytes())
    front, back = _free_port(), _free_port()
    env = {**os.environ, "GENRECAST_PROXY_FRONTEND": f"tcp://127.0.0.1:{front}",
           "GENRECAST_PROXY_BACKEND": f"tcp://127.0.0.1:{back}"}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "proxy",
                             "--curve-secret-key", str(server.secret),
                             "--curve-authorized-dir", str(keys / "authorized")],
                            env=env, stderr=subprocess.PIPE, text=True)
    ctx = zmq.Context()
    subscriber = REPO / "tests" / "support" / "count_subscriber.py"
    subs: list[subprocess.Popen[str]] = []
    try:
        assert proc.stderr is not None and "forwarding" in proc.stderr.readline()
        cmd = [sys.executable, str(subscriber), f"tcp://127.0.0.1:{back}", "3"]
        subs = [subprocess.Popen([*cmd, str(good.secret), str(server.public)],
                                 stdout=subprocess.PIPE, text=True),
                subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)]
        pub = ctx.socket(zmq.PUB)
        pub.connect(f"tcp://127.0.0.1:{front}")
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and any(s.poll() is None for s in subs):
            pub.send(b"genrecast.heartbeat x")
            time.sleep(0.02)
        pub.close(linger=0)
        authorized, plain = (int(s.communicate(timeout=20)[0].strip()) for s in subs)
        assert authorized > 10 and plain == 0, (authorized, plain)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        for p in (proc, *subs):
            if p.poll() is None:
                p.kill()
                p.wait()
        if proc.stderr:
            proc.stderr.close()
        ctx.term()
