"""Soak: `genrecast run` with many sources for a long time, faults injected at random times.

    python benchmarks/soak.py [--minutes 30] [--sources 50] [--seed 1] [--fault-mean-s 60]

Sources: one stdin (a tone written in real time), a fifth PortAudio captures through a private
PulseAudio null sink, two HTTP streams (ffmpeg), the rest looping files, all real time. Faults,
one at a time, at exponential intervals (mean ``--fault-mean-s``), each held 5-15 s: PulseAudio
killed and restarted, the null sink unloaded and loaded (the device vanishes), an HTTP server
stopped or stalled, a subscriber that stops reading, the model replaced by garbage before
SIGHUP (then restored, SIGHUP again). After each fault: time until every source is running again.

The daemon's resident memory, open file descriptors and threads are sampled every 5 s. Figures:
RSS growth after warm-up (median of the last minute minus the median of the minute after
warm-up), fds/threads at the same two moments, and the accounting of every window and event from
a subscriber's sequence numbers against the daemon's closing counts. Exit status 1 when a limit
is broken (RSS growth >= 5 MB, fds or threads not flat, a window or event unaccounted for, a
source that did not recover, the daemon exiting).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import zmq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' fault helpers, as tests.support.faults
from genrecast.daemon.wire.events import decode  # noqa: E402

from tests.support.faults import (  # noqa: E402
    TONE_MODEL,
    PrivatePulse,
    Radio,
    StdinFeeder,
    VerboseDaemon,
    free_port,
    plug_null_sink,
    scrape,
    stop_totals,
    stuck_subscriber,
    unplug_null_sink,
    wait_for,
)

SAMPLE_EVERY_S = 5.0
RSS_LIMIT_MB = 5.0
RECOVERY_LIMIT_S = 90.0
STDIN_RATE_HZ = 16_000
FAULTS = ("pulse_kill", "sink_unplug", "radio_stop", "radio_stall", "stuck_subscriber",
          "garbage_model_sighup")


class Accountant(threading.Thread):
    """A subscriber that keeps, per (source, kind), the count received and the last seq."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.connect(endpoint)
        self.received: dict[tuple[str, str], int] = defaultdict(int)
        self.last: dict[tuple[str, str], int] = {}
        self.disorder = 0
        self.states: dict[str, str] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            if not self.sock.poll(200):
                continue
            _, e = decode(self.sock.recv())
            key = (e["source"], e["kind"])
            if key in self.last and e["seq"] <= self.last[key]:
                self.disorder += 1
            self.last[key] = e["seq"]
            self.received[key] += 1
            if e["kind"] == "status" and e["source"] != "*":
                self.states[e["source"]] = e["state"]

    def close(self) -> None:
        self._halt.set()
        self.join(5)
        self.sock.close(linger=0)
        self.ctx.term()

    def summary(self) -> dict[str, int]:
        per = [(k, self.last[k] + 1, self.received[k]) for k in self.last if k[0] != "*"]
        return {"windows": sum(m for k, m, _ in per if k[1] == "prediction"),
                "predictions_received": sum(r for k, _, r in per if k[1] == "prediction"),
                "events_received": sum(r for _, _, r in per),
                "gaps": sum(m - r for _, m, r in per), "disorder": self.disorder}


def proc_stats(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def write_config(tmp: Path, n_sources: int, model: Path, radios: list[Radio],
                 metrics_port: int) -> tuple[Path, str, list[str]]:
    n_mic = max(1, n_sources // 5)
    n_file = n_sources - 1 - n_mic - len(radios)
    assert n_file >= 1, "--sources too small"
    files = []
    for i in range(min(n_file, 8)):  # a few distinct recordings, shared by the file sources
        path = tmp / f"tone{i}.wav"
        t = np.arange(12 * 16_000) / 16_000
        freq = (50, 150)[i % 2]
        sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16_000)
        files.append(path)
    endpoint = f"ipc://{tmp}/events.sock"
    lines = [f'[model]\npath = "{model}"\n']
    names = ["pipe"]
    lines.append(f'[[sources]]\nname = "pipe"\nkind = "stdin"\nrate_hz = {STDIN_RATE_HZ}\n')
    for i in range(n_mic):
        names.append(f"mic{i}")
        lines.append(f'[[sources]]\nname = "mic{i}"\nkind = "mic"\n')
    for i, radio in enumerate(radios):
        names.append(f"radio{i}")
        lines.append(f'[[sources]]\nname = "radio{i}"\nkind = "url"\n'
                     f'target = "http://127.0.0.1:{radio.port}/stream.wav"\n')
    for i in range(n_file):
        names.append(f"file{i}")
        lines.append(f'[[sources]]\nname = "file{i}"\nkind = "file"\n'
                     f'target = "{files[i % len(files)]}"\nloop = true\n')
    lines.append(f'[publish]\nendpoint = "{endpoint}"\nheartbeat_s = 5.0\n'
                 f'high_water_mark = 200\nstartup_grace_s = 1.5\n')
    lines.append('[control]\nendpoint = "off"\n')
    lines.append(f"[metrics]\nport = {metrics_port}\n")
    config = tmp / "genrecast.toml"
    config.write_text("\n".join(lines))
    return config, endpoint, names


class Soak:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.rng = random.Random(args.seed)
        self.pulse = PrivatePulse(tmp / "pulse")
        self.radios = [Radio(free_port(), freq) for freq in (50.0, 150.0)]
        self.model = tmp / "model.tflite"
        shutil.copy(TONE_MODEL, self.model)
        shutil.copy(TONE_MODEL.with_suffix(".json"), self.model.with_suffix(".json"))
        self.metrics_port = free_port()
        self.config, self.endpoint, self.names = write_config(
            tmp, args.sources, self.model, self.radios, self.metrics_port)
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.faults: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.zctx = zmq.Context()

    def running_all(self) -> bool:
        m = scrape(self.metrics_port)
        return all(m.get(f'genrecast_source_state{{source="{n}",state="running"}}') == 1.0
                   for n in self.names)

    def inject(self, kind: str, hold_s: float) -> None:
        d = self.daemon
        radio = self.rng.choice(self.radios)
        stuck = None
        if kind == "pulse_kill":
            self.pulse.kill()
        elif kind == "sink_unplug":
            unplug_null_sink(self.pulse.env)
        elif kind == "radio_stop":
            radio.stop()
        elif kind == "radio_stall":
            radio.stall()
        elif kind == "stuck_subscriber":
            stuck = stuck_subscriber(self.zctx, self.endpoint)
        elif kind == "garbage_model_sighup":
            self.model.write_bytes(b"\x00not a model" * 100)
            d.proc.send_signal(signal.SIGHUP)
        time.sleep(hold_s)
        if kind == "pulse_kill":
            self.pulse.start()
        elif kind == "sink_unplug":
            plug_null_sink(self.pulse.env)
        elif kind == "radio_stop":
            radio.start()
        elif kind == "radio_stall":
            radio.unstall()
        elif kind == "stuck_subscriber" and stuck is not None:
            stuck.close(linger=0)
        elif kind == "garbage_model_sighup":
            shutil.copy(TONE_MODEL, self.model)
            d.proc.send_signal(signal.SIGHUP)

    def sample(self) -> None:
        self.samples.append((time.monotonic(), proc_stats(self.daemon.proc.pid)))

    def run(self) -> int:
        args = self.args
        self.pulse.start()
        for radio in self.radios:
            radio.start()
        self.accountant = Accountant(self.endpoint)
        self.accountant.start()
        self.daemon = VerboseDaemon(self.tmp, self.config, stdin=True, env=self.pulse.env,
                                    watchdog_usec=30_000_000)
        assert self.daemon.proc.stdin is not None
        feeder = StdinFeeder(self.daemon.proc.stdin, STDIN_RATE_HZ)
        try:
            self.daemon.wait_ready(120)
            wait_for(self.running_all, 120, "every source running")
            t0 = time.monotonic()
            end = t0 + args.minutes * 60
            warmup_s = args.warmup_minutes * 60
            next_fault = t0 + min(warmup_s, self.rng.expovariate(1 / args.fault_mean_s))
            print(f"soak: {len(self.names)} sources, {args.minutes:g} min, pid "
                  f"{self.daemon.proc.pid}", flush=True)
            next_sample = t0
            while time.monotonic() < end:
                if self.daemon.proc.poll() is not None:
                    self.failures.append(f"daemon exited with {self.daemon.proc.returncode}")
                    break
                now = time.monotonic()
                if now >= next_sample:
                    self.sample()
                    next_sample = now + SAMPLE_EVERY_S
                if now >= next_fault and now < end - RECOVERY_LIMIT_S - 20:
                    self.one_fault(now - t0)
                    next_fault = time.monotonic() + self.rng.expovariate(1 / args.fault_mean_s)
                time.sleep(0.5)
            self.sample()
        finally:
            feeder.close()
            if self.daemon.proc.poll() is None:
                self.daemon.proc.send_signal(signal.SIGTERM)
                try:
                    self.daemon.proc.wait(timeout=30)
                except Exception:  # noqa: BLE001 - reported below
                    self.failures.append("daemon did not stop within 30 s of SIGTERM")
            time.sleep(1.0)
            self.accountant.close()
            self.daemon.close()
            for radio in self.radios:
                radio.stop()
            self.pulse.kill()
            self.zctx.term()
        return self.report(t0)

    def one_fault(self, at_s: float) -> None:
        kind = self.rng.choice(FAULTS)
        hold_s = self.rng.uniform(5, 15)
        self.inject(kind, hold_s)
        ended = time.monotonic()
        try:
            wait_for(self.running_all, RECOVERY_LIMIT_S, "recovery", interval_s=0.5)
            recovery_s = time.monotonic() - ended
        except AssertionError:
            recovery_s = None
            self.failures.append(f"{kind} at {at_s:.0f} s: not every source running "
                                 f"{RECOVERY_LIMIT_S:.0f} s after the fault ended")
        self.faults.append({"kind": kind, "at_s": round(at_s, 1), "hold_s": round(hold_s, 1),
                            "recovery_s": None if recovery_s is None else round(recovery_s, 1)})
        print(f"  fault {kind:22s} at {at_s:7.1f} s held {hold_s:4.1f} s, recovered in "
              f"{recovery_s if recovery_s is None else round(recovery_s, 1)} s", flush=True)

    def report(self, t0: float) -> int:
        args = self.args
        warm_end = t0 + args.warmup_minutes * 60
        first = [s for t, s in self.samples if warm_end <= t < warm_end + 60]
        last_t = self.samples[-1][0] if self.samples else t0
        last = [s for t, s in self.samples if t >= last_t - 60]
        figures: dict[str, Any] = {"sources": len(self.names), "minutes": args.minutes,
                                   "faults": self.faults}
        if first and last:
            for key in ("rss_mb", "fds", "threads"):
                a = statistics.median(s[key] for s in first)
                b = statistics.median(s[key] for s in last)
                after = [s[key] for t, s in self.samples if t >= warm_end]
                figures[key] = {"after_warmup": a, "end": b, "growth": round(b - a, 2),
                                "min": min(after), "max": max(after)}
            if figures["rss_mb"]["growth"] >= RSS_LIMIT_MB:
                self.failures.append(f"RSS grew {figures['rss_mb']['growth']:.2f} MB")
            for key in ("fds", "threads"):
                if figures[key]["growth"] != 0:
                    self.failures.append(f"{key} not flat: {figures[key]}")
        else:
            self.failures.append("run too short for the warm-up/end comparison")
        acc = self.accountant.summary()
        try:
            windows, published, dropped = stop_totals(self.daemon.stderr())
        except AssertionError as exc:
            self.failures.append(str(exc)[:300])
            windows = published = dropped = -1
        acc.update(daemon_windows=windows, daemon_published=published, daemon_dropped=dropped)
        figures["accounting"] = acc
        if acc["windows"] != windows:
            self.failures.append(f"windows: seqs span {acc['windows']}, daemon classified {windows}")
        if acc["events_received"] != published:
            self.failures.append(f"events received {acc['events_received']} != published "
                                 f"{published}")
        if acc["gaps"] > dropped or acc["disorder"]:
            self.failures.append(f"gaps {acc['gaps']} > dropped {dropped} or out of order")
        figures["failures"] = self.failures
        print(json.dumps(figures, indent=1))
        if args.out:
            args.out.write_text(json.dumps({**figures, "samples": [
                {"t_s": round(t - t0, 1), **s} for t, s in self.samples]}, indent=1))
        print("soak:", "PASS" if not self.failures else f"FAIL: {self.failures}")
        return 0 if not self.failures else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-mean-s", type=float, default=60.0)
    parser.add_argument("--warmup-minutes", type=float, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write figures and samples (JSON)")
    args = parser.parse_args()
    if args.warmup_minutes is None:
        args.warmup_minutes = min(5.0, args.minutes / 3)
    with tempfile.TemporaryDirectory(prefix="genrecast-soak-") as tmp:
        return Soak(args, Path(tmp)).run()


if __name__ == "__main__":
    sys.exit(main())
