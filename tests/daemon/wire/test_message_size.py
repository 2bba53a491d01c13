"""A hostile subscriber process sends one 256 MiB subscription to a running daemon and to
``genrecast proxy``: both hang up at the length (the ``ZMQ_MAXMSGSIZE`` bound) after reading a
little of it, their memory stays flat, the daemon's loop keeps its heartbeat beat, a
well-behaved subscriber keeps receiving, and SIGTERM still stops them within 2 s. (Without the
bound, 8 MiB grew a publisher by 390 MB; 256 MiB went past 8 GB.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import zmq

from tests.support.common import REPO, TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, wait_for

HUGE_MIB = 256
ATTACK_S = 4.0
HEARTBEAT_S = 0.2
GROWTH_LIMIT_MIB = 64  # before the bound: gigabytes
BEAT_GAP_LIMIT_S = 1.0  # before the bound: the loop stalled for seconds
STOP_LIMIT_S = 2.0


def _memory_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of process ``pid``."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _attack(port: int) -> subprocess.Popen[str]:
    attacker = subprocess.Popen([sys.executable, str(REPO / "tests/support/huge_subscriber.py"),
                                 f"127.0.0.1:{port}", str(HUGE_MIB)],
                                stdout=subprocess.PIPE, text=True)
    assert attacker.stdout is not None and attacker.stdout.readline().strip() == "subscribed"
    return attacker


def _hung_up(attacker: subprocess.Popen[str]) -> None:
    """The publisher closed the connection before it read the whole subscription."""
    attacker.wait(timeout=ATTACK_S + 60)
    # Not communicate(timeout=...): it reads the pipe's descriptor and misses what _attack's
    # readline() already buffered when the attacker printed both lines at once (a quick hang-up).
    assert attacker.stdout is not None
    out = attacker.stdout.read()
    attacker.stdout.close()
    sent, outcome = out.split()
    assert outcome == "closed" and int(sent) < HUGE_MIB * 1024 * 1024 // 4, out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_huge_subscription_leaves_the_daemon_flat(tmp_path: Path, low_high_wav: Path) -> None:
    port = _free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "room"
kind = "file"
target = "{low_high_wav}"
loop = true
[publish]
endpoint = "{endpoint}"
heartbeat_s = {HEARTBEAT_S}
[control]
endpoint = "off"
""")
    daemon = DaemonProc(tmp_path, config)
    listener = Listener(endpoint, "heartbeat")
    try:
        daemon.wait_ready(60)
        wait_for(lambda: len(listener.of("heartbeat")) >= 5, 30, "heartbeats")
        before_mib, _ = _memory_mib(daemon.proc.pid)
        attack_start = time.time()
        _hung_up(_attack(port))
        time.sleep(ATTACK_S)  # the loop keeps its beat afterwards too
        _, peak_mib = _memory_mib(daemon.proc.pid)
        print(f"daemon resident {before_mib:.1f} MiB before, peak {peak_mib:.1f} MiB")  # -s
        assert peak_mib - before_mib < GROWTH_LIMIT_MIB, (before_mib, peak_mib)

        beats = [datetime.fromisoformat(e["time"]).timestamp() for e in listener.of("heartbeat")]
        during = [t for t in beats if t >= attack_start - 1]
        assert len(during) >= 2, "no heartbeat reached the good subscriber under attack"
        gap = max(b - a for a, b in zip(during, during[1:], strict=False))
        print(f"longest heartbeat gap under attack {gap:.2f} s (heartbeat {HEARTBEAT_S} s)")
        assert gap < BEAT_GAP_LIMIT_S, f"the loop stalled for {gap:.2f} s"

        t0 = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(10) == 0, daemon.stderr()
        assert time.monotonic() - t0 < STOP_LIMIT_S + 1.0
    finally:
        listener.close()
        daemon.close()


@pytest.mark.slow
def test_huge_subscription_leaves_the_proxy_flat(tmp_path: Path) -> None:
    front, back = _free_port(), _free_port()
    env = {**os.environ, "GENRECAST_PROXY_FRONTEND": f"tcp://127.0.0.1:{front}",
           "GENRECAST_PROXY_BACKEND": f"tcp://127.0.0.1:{back}"}
    proc = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "proxy"], env=env,
                            stderr=subprocess.PIPE, text=True)
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    sub = ctx.socket(zmq.SUB)
    try:
        pub.connect(f"tcp://127.0.0.1:{front}")
        sub.setsockopt(zmq.SUBSCRIBE, b"genrecast.")
        sub.connect(f"tcp://127.0.0.1:{back}")

        def forwarded() -> bool:
            pub.send(b"genrecast.heartbeat h")
            return bool(sub.poll(100))

        wait_for(forwarded, 30, "the proxy forwarding")
        before_mib, _ = _memory_mib(proc.pid)
        attacker = _attack(back)
        received = 0
        deadline = time.monotonic() + ATTACK_S
        while time.monotonic() < deadline:
            pub.send(b"genrecast.heartbeat h")
            while sub.poll(50):
                sub.recv()
                received += 1
        _hung_up(attacker)
        _, peak_mib = _memory_mib(proc.pid)
        print(f"proxy resident {before_mib:.1f} MiB before, peak {peak_mib:.1f} MiB")
        assert peak_mib - before_mib < GROWTH_LIMIT_MIB, (before_mib, peak_mib)
        assert received > 10, "the good subscriber starved while the attacker was connected"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - t0 < STOP_LIMIT_S
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
        pub.close(linger=0)
        sub.close(linger=0)
        ctx.term()
