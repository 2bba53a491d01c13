"""What the dashboard costs the audio path: the same daemon with and without ``--web``.

    python benchmarks/web_cost.py                       # 1000 sources, 3 modes × 2 rounds
    python benchmarks/web_cost.py --sources 300 --seconds 15 --rounds 1

Each trial is ``scale.py``'s trial (a real ``Daemon`` with N live-paced 48 kHz fed sources, a
ZeroMQ subscriber in another process timing every prediction's arrival) in a fresh process, with
the service runtime attached as ``genrecast run`` has it, in one of three modes:

* ``off``: no dashboard;
* ``web``: the dashboard serving, no page open;
* ``web+10``: the dashboard and 10 open ``/events`` streams (unfiltered, as a page opens it), read
  by another process.

Modes alternate round by round (a busy shared machine shifts them alike) and the table gives the
median per mode: CPU of the daemon process per stream-second, the loop's CPU per window, the
dashboard threads' CPU, window-to-subscriber latency (median, p99), windows missed, and what the
clients received. First, the parts alone in CPU time (``--micro``: only these): ``offer`` on the
loop thread and the hub's work per event, which a busy shared machine shifts little.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import run_trial  # noqa: E402

MODES = ("off", "web", "web+10")
HOP_S = 0.5  # the daemon's default: two predictions per source per second

CLIENTS = r"""
import http.client, json, os, signal, sys, threading, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
counts = [0] * n; nbytes = [0] * n
def report(*_):
    mb = [round(b / 1e6, 2) for b in nbytes]
    print(json.dumps({"predictions_per_client": sorted(counts), "mb_per_client": mb}), flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, report)
def read(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/events"); r = conn.getresponse()
    end = time.monotonic() + seconds
    tail = b""
    while time.monotonic() < end:  # raw chunks: the reader's own CPU competes with the daemon
        chunk = r.read1(65536)
        if not chunk: break
        nbytes[i] += len(chunk)
        counts[i] += (tail + chunk).count(b"event: prediction")
        tail = chunk[-16:]  # shorter than the marker: never counted twice
threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(n)]
for t in threads: t.start()
print("ready", flush=True)
for t in threads: t.join(seconds + 15)
report()
"""


class WebHooks:
    """The service runtime on the trial's daemon; with ``web`` the dashboard and its clients."""

    def __init__(self, web: bool, clients: int, seconds: float) -> None:
        self.web, self.clients, self.seconds = web, clients, seconds
        self.runtime: Any = None
        self.proc: subprocess.Popen[str] | None = None
        self.client_result: dict[str, Any] = {}

    def before_start(self, daemon: Any) -> None:
        from genrecast.daemon.service.runtime import ServiceRuntime
        from genrecast.daemon.settings import WebSettings

        if self.web:
            daemon.settings = replace(daemon.settings, web=WebSettings(listen="127.0.0.1:0"))
        self.runtime = ServiceRuntime(daemon)
        self.runtime.open_web()

    def after_start(self, daemon: Any) -> None:
        self.runtime.start_web()
        if self.web and self.clients:
            port = self.runtime.web.server.port
            self.proc = subprocess.Popen(
                [sys.executable, "-c", CLIENTS, str(port), str(self.clients),
                 str(self.seconds)], stdout=subprocess.PIPE, text=True)
            assert self.proc.stdout is not None
            self.proc.stdout.readline()

    def after_stop(self, daemon: Any) -> None:
        if self.proc is not None:
            self.proc.terminate() if self.proc.poll() is None else None
            out, _ = self.proc.communicate(timeout=30)
            lines = out.strip().splitlines()
            if lines:
                self.client_result = json.loads(lines[-1])
        self.runtime.close()


def hub_costs(n_sources: int, clients: int = 10, rounds: int = 20) -> dict[str, float]:
    """CPU time (thread time, so a busy machine shifts it little) of the dashboard's parts per
    event: ``offer`` on the loop thread, and the hub's work (state, encoding, fan-out to
    ``clients`` queues) on its own thread, for ``rounds`` windows of ``n_sources`` sources."""
    import queue
    import time

    from genrecast.daemon.outputs.web.hub import EventHub
    from genrecast.daemon.outputs.web.state import Dashboard
    from genrecast.daemon.wire.events import EventFactory

    factory = EventFactory("bench@000000000000")
    probs = {"classical": 0.25, "rock": 0.75}
    events = [factory.make("prediction", f"s{i}", time.time(), label="rock", confidence=0.75,
                           probabilities=probs, smoothed=probs, silent=False, rms_dbfs=-12.5,
                           start_s=1.0, end_s=4.0, start_utc="2026-01-01T00:00:01.000000Z",
                           end_utc="2026-01-01T00:00:04.000000Z", genre="rock")
              for i in range(n_sources)]
    hub = EventHub(Dashboard(("classical", "rock")), prediction_interval_s=1.0)
    subs = [hub.subscribe(None, None) for _ in range(clients)]
    offer_ns = hub_ns = 0
    flush_every = max(1, round(hub.prediction_interval_s / HOP_S))
    for r in range(rounds):  # one round = one window of every source (a hop)
        t0 = time.thread_time_ns()
        for topic_event in events:
            hub.offer("", topic_event[1], True)
        t1 = time.thread_time_ns()
        hub._drain()  # noqa: SLF001 - the hub thread's steps, timed one by one
        if r % flush_every == flush_every - 1:  # the throttle: the latest per source
            hub._flush_predictions()  # noqa: SLF001
        t2 = time.thread_time_ns()
        offer_ns += t1 - t0
        hub_ns += t2 - t1
        for sub in subs:  # the clients' threads' share is not timed here (HTTP writes)
            try:
                while True:
                    sub.queue.get_nowait()
            except queue.Empty:
                pass
    n = rounds * n_sources
    return {"offer_ns_per_event": offer_ns / n, "hub_us_per_event": hub_ns / n / 1e3}


def one_trial(mode: str, n: int, seconds: float, model: Path) -> dict[str, Any]:
    web = mode != "off"
    clients = int(mode.split("+")[1]) if "+" in mode else 0
    hooks = WebHooks(web, clients, seconds + 10)
    result = run_trial(n, seconds, HOP_S, model, hooks=hooks)
    result["mode"] = mode
    result["clients"] = hooks.client_result
    return result


def trial_process(mode: str, n: int, seconds: float, model: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--trial", mode, "--sources", str(n), "--seconds",
           str(seconds), "--model", str(model)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} trial failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {mode:7s} {n} sources: CPU {result['cpu_ms_per_stream_s']:.3f} ms/stream-s, "
          f"latency median {result['latency_median_ms']:.0f} ms, p99 "
          f"{result['latency_p99_ms']:.0f} ms, windows {result['windows_received']}/"
          f"{result['windows_expected']}", flush=True)
    return result


def main() -> None:
    from genrecast.models import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=default_model_path())
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--trial", choices=MODES, help="run one trial in this process, print JSON")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--micro", action="store_true", help="only the per-event CPU costs")
    args = ap.parse_args()
    if args.trial:
        print(json.dumps(one_trial(args.trial, args.sources, args.seconds, args.model)))
        return
    costs = hub_costs(args.sources)
    per_s = args.sources / HOP_S  # prediction events per second
    print(f"dashboard parts, CPU time per prediction event ({args.sources} sources, 10 clients):"
          f" offer on the loop thread {costs['offer_ns_per_event']:.0f} ns, hub thread "
          f"{costs['hub_us_per_event']:.1f} µs; at {per_s:.0f} events/s: loop "
          f"{costs['offer_ns_per_event'] * per_s / 1e6:.2f} ms/s, hub "
          f"{costs['hub_us_per_event'] * per_s / 1e3:.1f} ms/s", flush=True)
    if args.micro:
        return
    print(f"web_cost: {args.sources} sources, hop {HOP_S} s, {args.seconds:g} s measured per "
          f"trial, model {args.model.name}, {args.rounds} round(s)", flush=True)
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            results[mode].append(trial_process(mode, args.sources, args.seconds, args.model))

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    def web_threads(r: dict[str, Any]) -> float:
        return sum(v for k, v in r["thread_cpu_s_per_s"].items()
                   if k.startswith("genrecast-web") or "process_request_thread" in k)

    base_cpu = med("off", "cpu_ms_per_stream_s")
    def loop_us(r: dict[str, Any]) -> float:
        return float(sum(r["stage_us_per_window"].values()))

    print("\n| mode | CPU ms per stream-s | vs off | loop µs per window | web threads (cores) | "
          "latency median ms | latency p99 ms | windows missed | predictions per client |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        missed = statistics.median(r["windows_expected"] - min(r["windows_received"],
                                                               r["windows_expected"])
                                   for r in results[mode])
        per_client = [c for r in results[mode]
                      for c in r["clients"].get("predictions_per_client", [])]
        cpu = med(mode, "cpu_ms_per_stream_s")
        print(f"| {mode} | {cpu:.3f} | {cpu / base_cpu:.2f}× | "
              f"{statistics.median(loop_us(r) for r in results[mode]):.0f} | "
              f"{statistics.median(web_threads(r) for r in results[mode]):.3f} | "
              f"{med(mode, 'latency_median_ms'):.0f} | "
              f"{med(mode, 'latency_p99_ms'):.0f} | {missed:.0f} | "
              f"{statistics.median(per_client) if per_client else '–'} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
