"""How many live 48 kHz streams one daemon process classifies in real time, and at what cost.

    python benchmarks/scale.py                  # full run: search, 60-s confirmation, table
    python benchmarks/scale.py --quick          # shorter trials, 20-s confirmation
    python benchmarks/scale.py --trial 500      # one trial of 500 sources, JSON result
    python benchmarks/scale.py --workers 2 --start 1500 --model models/classical-rock-specnet.tflite
                                                # the sources of each trial over 2 processes

Every trial runs in a fresh process: a real ``Daemon`` with N ``FedSource`` inputs (one feeder
thread writes 1024-frame blocks into each source's ``Ring`` at real-time pace, like PortAudio
callbacks), publishing on an ipc endpoint to a subscriber in another process that logs each
prediction event's arrival. A trial is *sustained* when every window in the measured span reached
the subscriber, with no sequence gap, before the next window was due (p99 latency below the hop),
latency did not grow from the first to the last third of the run, the feeder kept real time and no
ring overran. The largest sustained count is found by doubling, then bisection, then confirmed by
one long trial. Side by side: the raw LiteRT invoke cost and the raw resampling cost of that work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_feed import RATE_HZ, FedSource, Feeder  # noqa: E402
from scale_figures import WARMUP_S, merge_shards, summarise  # noqa: E402

SUBSCRIBER = r"""
import sys, time, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.SUB); s.setsockopt(zmq.RCVHWM, 0)
s.setsockopt_string(zmq.SUBSCRIBE, "genrecast.prediction.")
s.connect(sys.argv[1]); out = open(sys.argv[3], "w", buffering=1); print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if s.poll(100):
        msg = s.recv(); t = time.monotonic()
        head = msg[:400].decode(errors="replace")
        src = head.split(" ", 1)[0].rsplit(".", 1)[1]
        seq = head.split('"seq":', 1)[1].split(",", 1)[0]
        end_s = msg.split(b'"end_s":', 1)[1].split(b",", 1)[0].decode()
        out.write(f"{t} {src} {seq} {end_s}\n")
out.close()
"""

def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process, by thread name (summed)."""
    tick_hz = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = names.get(int(task.name), "native: " + stat[stat.index("(") + 1 : stat.rindex(")")])
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick_hz
    return out


def bench_audio(seconds: float = 20.0) -> np.ndarray:
    """Real music at 48 kHz mono: the demo recording, resampled with soxr."""
    import soxr
    from genrecast.daemon.audio.decode import read_audio
    from genrecast.daemon.cli.demo import DEMO_AUDIO
    from genrecast.daemon.dsp.chain import downmix

    frames, rate = read_audio(DEMO_AUDIO)
    mono = soxr.resample(downmix(frames), rate, RATE_HZ).astype(np.float32)
    return mono[: int(seconds * RATE_HZ)]


def run_trial(n: int, seconds: float, hop_s: float, model: Path,
              lockstep: bool = False, hooks: Any = None) -> dict[str, Any]:
    """One daemon with ``n`` fed sources for ``WARMUP_S + seconds``; returns the figures.
    ``hooks`` (optional): ``before_start(daemon)``, ``after_start(daemon)``, ``after_stop(daemon)``
    attach more to the daemon (``web_cost.py``: the dashboard and its clients)."""
    from genrecast.daemon.engine.daemon import Daemon
    from genrecast.daemon.settings import DecisionSettings, PublishSettings, Settings, SourceSettings

    total_s = WARMUP_S + seconds
    feeder = Feeder(bench_audio(), max_seconds=total_s + 5, n=n,
                    stagger_s=0.0 if lockstep else hop_s)
    with tempfile.TemporaryDirectory() as tmp:
        endpoint = f"ipc://{tmp}/events.sock"
        log_path = Path(tmp) / "events.log"
        specs = tuple(SourceSettings(name=f"s{i}", kind="mic", target=f"bench{i}")
                      for i in range(n))
        settings = Settings(sources=specs, model_path=model,
                            decisions=DecisionSettings(hop_s=hop_s),
                            publish=PublishSettings(endpoint=endpoint,
                                                    high_water_mark=max(10_000, 20 * n)))
        sources = [FedSource(s, feeder) for s in specs]
        daemon = Daemon(settings, sources=sources)
        if hooks is not None:
            hooks.before_start(daemon)
        sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, endpoint, str(total_s + 10),
                                str(log_path)], stdout=subprocess.PIPE, text=True)
        assert sub.stdout is not None
        sub.stdout.readline()
        daemon.start(subscriber_grace_s=0.5)
        if hooks is not None:
            hooks.after_start(daemon)
        feeder.start()
        marks: dict[str, float] = {}

        def mark_warm() -> None:
            marks["cpu"] = time.process_time()
            marks.update({f"thread:{k}": v for k, v in thread_cpu_s().items()})
            marks["wall"] = time.monotonic()
            marks["loop_ns"] = sum(daemon.stage_times.ns.values())

        def mark_end() -> None:  # before stopping: the classify worker exits with the daemon
            marks["end_cpu"] = time.process_time()
            marks.update({f"end:{k}": v for k, v in thread_cpu_s().items()})
            marks["end_wall"] = time.monotonic()
            daemon.request_stop()

        warm = threading.Timer(WARMUP_S, mark_warm)
        stop = threading.Timer(total_s, mark_end)
        warm.start()
        stop.start()
        daemon.run()
        cpu_s = marks["end_cpu"] - marks["cpu"]
        threads = {k[4:]: v - marks.get(f"thread:{k[4:]}", 0.0) for k, v in marks.items()
                   if k.startswith("end:")}
        wall_s = marks["end_wall"] - marks["wall"]
        loop_s = (sum(daemon.stage_times.ns.values()) - marks["loop_ns"]) / 1e9
        if hooks is not None:
            hooks.after_stop(daemon)
        feeder.stop_flag.set()
        feeder.join()
        rss, peak = rss_mb()
        time.sleep(0.5)
        sub.terminate()
        sub.wait()
        lines = log_path.read_text().splitlines() if log_path.exists() else []

    result = summarise(n, hop_s, seconds, feeder, lines, daemon, cpu_s, wall_s, loop_s, rss, peak)
    result["thread_cpu_s_per_s"] = {k: round(v / wall_s, 4) for k, v in threads.items() if v > 0}
    return result


def trial(n: int, seconds: float, hop_s: float, model: Path, workers: int = 1) -> dict[str, Any]:
    """``run_trial`` in fresh processes (memory and threads of one trial never leak into the
    next): one, or ``workers`` at once with a share of the sources each, as ``[engine] workers``
    shards them (each an independent daemon with its own subscriber; the parent's relay is
    measured by ``radio.py``)."""
    shares = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    procs = [subprocess.Popen([sys.executable, __file__, "--trial", str(share), "--seconds",
                               str(seconds), "--hop", str(hop_s), "--model", str(model)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for share in shares if share]
    parts = []
    for proc in procs:
        out, err = proc.communicate(timeout=seconds + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"trial of {n} sources failed:\n{err[-3000:]}")
        parts.append(json.loads(out.strip().splitlines()[-1]))
    result = parts[0] if len(parts) == 1 else merge_shards(parts)
    result["workers"] = len(parts)
    ok = "sustained" if result["sustained"] else "NOT sustained"
    print(f"  {n:5d} sources, {seconds:g} s: {ok}; received {result['windows_received']}/"
          f"{result['windows_expected']}, p95 {result['latency_p95_ms']:.0f} ms, p99 "
          f"{result['latency_p99_ms']:.0f} ms, growth {result['latency_growth_ms']:.0f} ms, "
          f"feeder lag {result['feeder_max_lag_ms']:.0f} ms, CPU {result['cpu_s_per_s']:.2f} "
          f"core, RSS {result['rss_mb']:.0f} MB", flush=True)
    return result


def search(start: int, limit: int, seconds: float, hop_s: float, model: Path,
           bisect_steps: int, workers: int = 1) -> tuple[int, dict[int, dict[str, Any]]]:
    """Largest sustained count: double from ``start`` until a failure, then bisect."""
    results: dict[int, dict[str, Any]] = {}
    good, bad = 0, None
    n = start
    while n <= limit:
        results[n] = trial(n, seconds, hop_s, model, workers)
        if not results[n]["sustained"]:
            bad = n
            break
        good = n
        n *= 2
    for _ in range(bisect_steps):
        if bad is None or bad - good <= max(8, good // 16):
            break
        mid = (good + bad) // 2
        results[mid] = trial(mid, seconds, hop_s, model, workers)
        if results[mid]["sustained"]:
            good = mid
        else:
            bad = mid
    return good, results


def raw_costs(model: Path, n_windows: int, seconds: float) -> dict[str, float]:
    """The same work without the daemon: one batched LiteRT invoke of ``n_windows`` windows, and
    resampling ``seconds`` of 48 kHz audio per stream in 1-s calls (µs per window / stream-s)."""
    from genrecast.daemon.dsp.resample import StreamingResampler
    from genrecast.daemon.model.classifier import Classifier

    clf = Classifier(model, try_gpu=False)
    x = np.random.default_rng(0).normal(0, 0.1, (n_windows, clf.card.window_samples))
    x = clf.card.normalisation.apply(x.astype(np.float32))
    clf.predict(x, normalised=True)
    times = []
    for _ in range(5):
        t0 = time.thread_time()
        clf.predict(x, normalised=True)
        times.append(time.thread_time() - t0)
    invoke_us = statistics.median(times) / n_windows * 1e6
    audio = bench_audio(seconds)
    rs = StreamingResampler(RATE_HZ, clf.card.sample_rate_hz)
    t0 = time.thread_time()
    for i in range(int(seconds)):
        rs.process(audio[i * RATE_HZ : (i + 1) * RATE_HZ])
    resample_us = (time.thread_time() - t0) / int(seconds) * 1e6
    return {"invoke_us_per_window": invoke_us, "resample_us_per_stream_s": resample_us}


def offline_throughput(model: Path) -> dict[str, float]:
    """``genrecast classify`` on a decoded 48 kHz WAV: × real time of the command (wall, with
    interpreter start-up) and of the work inside it (decode + DSP + classify + smooth)."""
    import soundfile as sf
    from genrecast.daemon.model.classifier import Classifier
    from genrecast.daemon.offline.pipeline import classify_file
    from genrecast.daemon.settings import DecisionSettings

    audio = np.tile(bench_audio(20.0), 30)  # 10 minutes
    duration = audio.size / RATE_HZ
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "ten_minutes.wav"
        sf.write(wav, audio, RATE_HZ, subtype="FLOAT")
        exe = Path(sys.executable).with_name("genrecast")
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([str(exe), "classify", str(wav), "--model", str(model), "--json"],
                           check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        clf = Classifier(model, try_gpu=False, num_threads=os.cpu_count() or 1)  # as classify does
        inner = []
        for _ in range(3):
            t0 = time.perf_counter()
            classify_file(wav, clf, DecisionSettings())
            inner.append(time.perf_counter() - t0)
    return {"audio_s": duration, "command_x": duration / statistics.median(walls),
            "inner_x": duration / statistics.median(inner)}


def override(item: str) -> None:
    """``service.MIN_TICK_S=0`` → set ``genrecast.daemon.engine.daemon.MIN_TICK_S`` to 0.0."""
    import importlib

    target, _, value = item.partition("=")
    module_name, _, attr = target.rpartition(".")
    module = importlib.import_module(f"genrecast.daemon.{module_name}")
    old = getattr(module, attr)
    setattr(module, attr, type(old)(json.loads(value)))


def main() -> None:
    from genrecast.models import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=default_model_path())
    ap.add_argument("--trial", type=int, help="run one trial of this many sources, print JSON")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds per trial")
    ap.add_argument("--hop", type=float, default=1.0)
    ap.add_argument("--start", type=int, default=64, help="first count of the doubling search")
    ap.add_argument("--limit", type=int, default=8192)
    ap.add_argument("--confirm-seconds", type=float, default=60.0)
    ap.add_argument("--lockstep", action="store_true",
                    help="with --trial: all sources start together (windows all due at once)")
    ap.add_argument("--quick", action="store_true", help="10-s trials, 20-s confirmation")
    ap.add_argument("--workers", type=int, default=1,
                    help="worker processes sharing each trial's sources (2: both cores here)")
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE",
                    help="with --trial: override a daemon constant for an A/B comparison, "
                         "e.g. service.MIN_TICK_S=0")
    args = ap.parse_args()
    for item in args.set:
        override(item)
    if args.trial is not None:
        print(json.dumps(run_trial(args.trial, args.seconds, args.hop, args.model,
                                   args.lockstep)))
        return
    if args.quick:
        args.seconds, args.confirm_seconds = 10.0, 20.0
    from report_scale import print_report

    print(f"scale benchmark on {os.cpu_count()} cores, model {args.model.name}, "
          f"{args.workers} worker process(es) per trial", flush=True)
    print("1 source, hop 0.5 s (CPU per stream-second, latency, memory):", flush=True)
    single = trial(1, args.seconds, 0.5, args.model)
    print(f"largest sustained count at hop {args.hop:g} s:", flush=True)
    w = args.workers
    best, results = search(args.start, args.limit, args.seconds, args.hop, args.model, 4, w)
    short_best = best
    confirm = trial(best, args.confirm_seconds, args.hop, args.model, w) if best else None
    for _ in range(4):  # the long trial is stricter: step down until it holds
        if confirm is None or confirm["sustained"] or best <= args.start:
            break
        best = int(best * 0.8)
        confirm = trial(best, args.confirm_seconds, args.hop, args.model, w)
    if confirm is not None and not confirm["sustained"]:
        best = 0
    print("memory and cost at 1000 sources:", flush=True)
    thousand = trial(1000, args.seconds, args.hop, args.model, w)
    raw = raw_costs(args.model, max(best, 1), 10.0)
    offline = offline_throughput(args.model)
    print_report(single, best, short_best, confirm, thousand, raw, offline, args.hop)


if __name__ == "__main__":
    main()
