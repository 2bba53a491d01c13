"""Time to READY=1 and SIGTERM-to-exit of `genrecast run` (real process, stdin source).

    python benchmarks/service_lifecycle.py [RUNS] [--mqtt]

Prints the median and the range over RUNS starts (default 5). ``--mqtt`` runs the same with the
MQTT output on, connected to a private mosquitto on loopback (a clean stop then also sends the
final states and ``offline``), and prints both sets side by side. The daemon reads a 50-Hz tone
from stdin in real time and uses the tiny test model, so the figures are the service machinery
(interpreter start, imports, model load, sockets), not the classifier.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "tests" / "support" / "data" / "tone.tflite"
RATE_HZ = 8_000
CHUNK_S = 0.05


def one_run(tmp: Path, mqtt_url: str = "") -> tuple[float, float]:
    config = tmp / "g.toml"
    mqtt = (f'[mqtt]\nurl = "{mqtt_url}"\nusername = "genrecast"\npassword = "pw"\n'
            if mqtt_url else "")
    config.write_text(f'[model]\npath = "{MODEL}"\n[[sources]]\nname = "pipe"\nkind = "stdin"\n'
                      f'rate_hz = {RATE_HZ}\n[publish]\nendpoint = "ipc://{tmp}/ev.sock"\n'
                      f'[control]\nendpoint = "ipc://{tmp}/ctl.sock"\n{mqtt}')
    notify_path = tmp / "notify.sock"
    notify_path.unlink(missing_ok=True)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
    t = np.arange(int(RATE_HZ * CHUNK_S)) / RATE_HZ
    chunk = (0.3 * 32767 * np.sin(2 * np.pi * 50 * t)).astype("<i2").tobytes()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "run", "--config",
                             str(config)], env=env, stdin=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    stop = threading.Event()

    def feed() -> None:
        assert proc.stdin is not None
        while not stop.is_set():
            try:
                proc.stdin.write(chunk)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            time.sleep(CHUNK_S)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        while not notify.recv(4096).startswith(b"READY=1"):
            pass
        ready_s = time.monotonic() - t0
        time.sleep(1.0)
        t1 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        stop_s = time.monotonic() - t1
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        feeder.join(2)
        notify.close()
    return ready_s, stop_s


def series(runs: int, mqtt_url: str = "") -> tuple[list[float], list[float]]:
    ready, stopped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            r, s = one_run(Path(tmp), mqtt_url)
            ready.append(r)
            stopped.append(s)
    return ready, stopped


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--mqtt"]
    runs = int(args[0]) if args else 5
    results = {"ZeroMQ only": series(runs)}
    if "--mqtt" in sys.argv:
        sys.path.insert(0, str(REPO))  # the tests' broker helper
        from tests.support.mosquitto import Mosquitto

        with tempfile.TemporaryDirectory() as tmp:
            broker = Mosquitto(Path(tmp), {"genrecast": "pw"})
            broker.start()
            try:
                results["with MQTT"] = series(runs, broker.url)
            finally:
                broker.stop()
    for label, (ready, stopped) in results.items():
        for name, values in (("start → READY=1", ready), ("SIGTERM → exit", stopped)):
            print(f"{label:12s} {name:16s} median {statistics.median(values):.3f} s  "
                  f"(min {min(values):.3f}, max {max(values):.3f}, n={runs})")


if __name__ == "__main__":
    main()
