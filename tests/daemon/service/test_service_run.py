"""`genrecast run` as a service: the sd_notify sequence, SIGTERM, configuration errors.

Real processes and sockets: the daemon runs as a subprocess on a stdin source fed by a writer
thread in real time, systemd's notify socket is a datagram socket bound here, the subscriber is
`genrecast listen` in another process.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, genrecast, wait_for

RATE_HZ = 8_000
CHUNK_S = 0.05
STOP_LIMIT_S = 2.0
STALL_PAUSE_S = 3.4  # < 2 × the supervisor's 2-s stall limit: stdin is stalled, not yet lost
QUIET_AFTER_S = 2.6  # 2-s advance window + the loop's tick + slack for a busy machine


def _config(tmp: Path, source: str, extra: str = "") -> Path:
    path = tmp / "genrecast.toml"
    path.write_text(f"""
[model]
path = "{TONE_MODEL}"
{source}
[publish]
endpoint = "ipc://{tmp}/events.sock"
heartbeat_s = 1.0
[control]
endpoint = "ipc://{tmp}/control.sock"
{extra}
""")
    return path


class Feeder:
    """Writes a 50-Hz tone to the daemon's stdin in real time; ``pause`` stops the audio."""

    def __init__(self, proc: DaemonProc) -> None:
        self.stdin = proc.proc.stdin
        self.paused = threading.Event()
        self.stop = threading.Event()
        t = np.arange(int(RATE_HZ * CHUNK_S)) / RATE_HZ
        self.chunk = (0.3 * 32767 * np.sin(2 * np.pi * 50 * t)).astype("<i2").tobytes()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        assert self.stdin is not None
        next_t = time.monotonic()
        while not self.stop.is_set():
            if not self.paused.is_set():
                try:
                    self.stdin.write(self.chunk)
                    self.stdin.flush()
                except (BrokenPipeError, ValueError):
                    return
            next_t += CHUNK_S
            time.sleep(max(0.0, next_t - time.monotonic()))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


@pytest.mark.slow
def test_notify_sequence_watchdog_and_sigterm(tmp_path: Path) -> None:
    config = _config(tmp_path, f"""
[[sources]]
name = "pipe"
kind = "stdin"
rate_hz = {RATE_HZ}
""")
    daemon = DaemonProc(tmp_path, config, stdin=True)
    feeder = Feeder(daemon)
    listener = None
    try:
        daemon.wait_ready()
        listener = Listener(f"ipc://{tmp_path}/events.sock", "status")
        notify = daemon.notify
        first = notify.messages[0][1]
        assert first.startswith("READY=1\nSTATUS=1/1 sources running; pipe: running"), first
        wait_for(lambda: len(notify.times_of("WATCHDOG=1")) >= 3, 5, "watchdog pings")

        # Audio stops (the writer goes quiet, the pipe stays open): pings must stop.
        feeder.paused.set()
        stall_t = time.monotonic()
        time.sleep(STALL_PAUSE_S)
        quiet = [t for t in notify.times_of("WATCHDOG=1") if t > stall_t + QUIET_AFTER_S]
        assert quiet == [], f"WATCHDOG sent {[round(t - stall_t, 2) for t in quiet]} s after " \
            "the audio stopped"
        assert notify.has("STATUS=0/1 sources running; pipe: stalled")

        # Audio comes back: running again, pings again, no restart of the process.
        feeder.paused.clear()
        resume_t = time.monotonic()
        wait_for(lambda: any(t > resume_t for t in notify.times_of("WATCHDOG=1")), 5,
                 "watchdog pings after the audio came back")
        assert daemon.proc.poll() is None

        # SIGTERM: STOPPING=1, exit 0 within 2 s, final status event published.
        t0 = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
        assert code == 0, daemon.stderr()
        assert elapsed < STOP_LIMIT_S, f"stopped in {elapsed:.2f} s"
        assert notify.has("STOPPING=1")
        wait_for(lambda: any(e["state"] == "stopped" for e in listener.of("status", "pipe")), 5,
                 "the final stopped status event")
        states = [e["state"] for e in listener.of("status", "pipe")]
        assert "stalled" in states and states[-1] == "stopped", states
        assert "running" in states[states.index("stalled"):], states
    finally:
        feeder.close()
        daemon.close()
        if listener is not None:
            listener.close()


CONFIG_ERRORS = [
    ("[[sources]]\nkind = 'mic'\n[decisions]\nhopp_s = 1\n", "decisions.hopp_s: unknown key"),
    ("[[sources]]\nkind = 'tape'\n", "sources[0].kind: must be one of"),
    ("[[sources]]\nkind = 'mic'\n[model]\npath = 'gone.tflite'\n", "model.path:"),
    ("[[sources]]\nkind = 'mic'\n[control]\nendpoint = 'tcp://0.0.0.0:1'\n",
     "control.endpoint: 'tcp://0.0.0.0:1' is not a loopback address"),
    ("[model\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), CONFIG_ERRORS)
def test_configuration_error_exits_78_with_one_line(tmp_path: Path, text: str,
                                                     expected: str) -> None:
    import subprocess

    path = tmp_path / "bad.toml"
    path.write_text(text)
    proc = subprocess.run(genrecast("run", "--config", str(path)), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 78, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(f"error: {path}: "), proc.stderr
    assert expected in lines[0]


def test_missing_config_file_and_flag_error(tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.run(genrecast("run", "--config", str(tmp_path / "none.toml")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78 and "configuration file not found" in proc.stderr
    good = _config(tmp_path, "[[sources]]\nkind = 'stdin'\n")
    proc = subprocess.run(genrecast("run", "--config", str(good), "--threads", "0"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78, proc.stderr
    assert proc.stderr.startswith("error: command line: model.threads: must be an integer >= 1")


def test_second_daemon_on_the_same_ipc_path_is_refused(tmp_path: Path) -> None:
    import subprocess

    config = _config(tmp_path, "[[sources]]\nname = 'pipe'\nkind = 'stdin'\n")
    first = DaemonProc(tmp_path, config, stdin=True)
    try:
        wait_for(lambda: (tmp_path / "events.sock").exists()
                 and (tmp_path / "control.sock").exists(), 30, "the first daemon's sockets")
        proc = subprocess.run(genrecast("run", "--config", str(config)), capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 69, proc.stderr
        assert "served by another running genrecast" in proc.stderr, proc.stderr
        assert first.proc.poll() is None
        ctl = subprocess.run(genrecast("ctl", "-e", f"ipc://{tmp_path}/control.sock", "status"),
                             capture_output=True, text=True, timeout=30)
        assert ctl.returncode == 0, ctl.stderr  # the first daemon still owns its sockets
    finally:
        first.close()
