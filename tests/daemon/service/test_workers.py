"""``[engine] workers = 2``: real worker processes behind one endpoint and one control socket.
A subscriber in another process sees events from the sources of both workers and one merged
heartbeat; a worker killed with SIGKILL is restarted and its sources come back; SIGINT stops the
parent and every worker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import soundfile as sf

from tests.support.common import TONE_MODEL
from tests.support.daemon_proc import DaemonProc, Listener, genrecast, wait_for
from tests.support.icecast import free_port
from tests.support.worker_config import SOURCES, workers_config


def _config(tmp: Path, metrics_port: int) -> Path:
    rate = 16_000
    t = np.arange(5 * rate) / rate
    x = np.concatenate([0.3 * np.sin(2 * np.pi * 50 * t), 0.3 * np.sin(2 * np.pi * 150 * t)])
    sf.write(tmp / "low_high.wav", x.astype(np.float32), rate)
    return workers_config(tmp, tmp / "low_high.wav", f"[metrics]\nport = {metrics_port}\n")


def _metric(port: int, name: str, labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    match = re.search("^" + re.escape(name + "{" + labels + "}") + r" (\S+)$", text, re.M)
    return float(match.group(1)) if match else float("nan")


def _status(tmp: Path) -> dict[str, Any]:
    proc = subprocess.run(genrecast("ctl", "-e", f"ipc://{tmp}/control.sock", "status", "--json"),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.slow
def test_two_workers_one_endpoint_restart_and_stop(tmp_path: Path,
                                                    event_schema: dict[str, Any]) -> None:
    port = free_port()
    daemon = DaemonProc(tmp_path, _config(tmp_path, port))
    listener = Listener(f"ipc://{tmp_path}/events.sock", "prediction", "heartbeat", "status")
    try:
        daemon.wait_ready(60)
        wait_for(lambda: all(listener.of("prediction", n) for n in SOURCES), 30,
                 "predictions from the sources of both workers")
        status = _status(tmp_path)
        workers = status["workers"]
        assert [w["alive"] for w in workers] == [True, True], status
        assert len({w["pid"] for w in workers}) == 2 and daemon.proc.pid not in (
            w["pid"] for w in workers)
        assert {n: s["state"] for n, s in status["sources"].items()} == dict.fromkeys(
            SOURCES, "running"), status
        beat = wait_for(lambda: next((h for h in reversed(listener.of("heartbeat"))
                                      if set(h["sources"]) == set(SOURCES)), None), 10,
                        "a heartbeat with every worker's sources")
        jsonschema.validate(beat, event_schema)
        # /metrics of the main process covers both workers' sources
        wait_for(lambda: all(_metric(port, "genrecast_source_state", f'source="{n}",state="running"')
                             == 1 for n in SOURCES), 10, "every source running in /metrics")
        assert _metric(port, "genrecast_worker_up", 'worker="1"') == 1
        assert _metric(port, "genrecast_windows_classified_total", 'source="d"') > 0
        beats = [h["seq"] for h in listener.of("heartbeat")]
        assert beats == sorted(set(beats)), "one heartbeat sequence, not one per worker"

        daemon.proc.send_signal(signal.SIGHUP)  # systemctl reload: every worker reloads
        reloads = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
            [e for e in listener.of("status", "*") if "reload" in e]), 30,
            "a reload status event from each worker")
        assert daemon.proc.poll() is None, daemon.stderr()
        assert {e["reload"] for e in reloads} == {"ok"}, reloads

        victim = workers[1]["pid"]
        os.kill(victim, signal.SIGKILL)
        killed_at = len(listener.events)
        after = wait_for(lambda: (lambda s: s if s["workers"][1]["restarts"] == 1
                                  and s["workers"][1]["alive"]
                                  and s["sources"]["b"]["state"] == "running" else None)(
            _status(tmp_path)), 60, "worker 1 restarted with its sources running",
            interval_s=0.5)
        assert after["workers"][1]["pid"] != victim
        assert after["workers"][0]["pid"] == workers[0]["pid"], "the other worker kept running"
        assert _metric(port, "genrecast_worker_restarts_total", 'worker="1"') == 1
        wait_for(lambda: all(any(e["kind"] == "prediction" and e["source"] == n
                                 for e in listener.events[killed_at:]) for n in ("b", "d")),
                 30, "predictions from the restarted worker's sources")

        pids = [w["pid"] for w in after["workers"]]
        t0 = time.monotonic()
        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.proc.wait(10) == 0, daemon.stderr()
        assert time.monotonic() - t0 < 5.0, "SIGINT to exit"
        for pid in pids:
            wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists()
                     or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], 5,
                     f"worker {pid} gone")
        assert "Traceback" not in daemon.stderr()
    finally:
        listener.close()
        daemon.close()


def test_workers_refuse_what_they_cannot_share(tmp_path: Path) -> None:
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[engine]
workers = 2
[[sources]]
name = "a"
kind = "stdin"
[[sources]]
name = "b"
kind = "file"
target = "x.wav"
[control]
endpoint = "off"
""")
    proc = subprocess.run(genrecast("run", "--config", str(config)), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 78, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: a stdin source cannot be shared with worker processes; set [engine] workers = 1")
