"""Real internet radio at scale: N listeners of a real Icecast 2 server in one daemon.

    nice python benchmarks/radio.py                          # 100, 500, 1000 streams, light model
    nice python benchmarks/radio.py --n 100 --n 800 --seconds 60 --model models/X.tflite
    nice python benchmarks/radio.py --n 100 --workers 1 --workers 2   # 1 vs 2 worker processes
    nice python benchmarks/radio.py --n 500 --decoder libmpg123 --decoder libavcodec  # MP3 decoders
    nice python benchmarks/radio.py --raw                     # raw decode costs only

Each trial: Icecast 2 (Debian's ``icecast2``) on loopback with a raised client limit and no
burst-on-connect (so a window's ``end_utc`` is when its last sample really arrived), fed by ffmpeg
as a source client (``-re``, libmp3lame 128 kbit/s, ``daemon/demo/demo.ogg`` looped); then
``genrecast run --config`` with N ``url:`` sources on that mount (hop 1 s) as a real process, and
a subscriber in another process logging status and prediction events with their arrival time.
Printed side by side: seconds until all N are ``running`` (from launch, and from the moment the
sources were added, i.e. after the model was loaded and probed), daemon CPU per stream-second (the
process and its children) beside the raw cost of decoding the same audio, PSS per stream, windows
expected/received and sequence gaps over the measured span, p50/p95 latency (arrival − end_utc),
seconds from SIGINT to exit. A trial is *sustained* when every expected window arrived with no
gap and p95 latency stayed below the hop.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.icecast import Icecast  # noqa: E402

DEMO = REPO / "daemon" / "demo" / "demo.ogg"
LIGHT_MODEL = REPO / "models" / "classical-rock-specnet.tflite"
HOP_S = 1.0
START_TIMEOUT_S = 180.0
EDGE_S = 3.0  # windows this close to the span's ends are not counted (in flight)
TICKS_S = os.sysconf("SC_CLK_TCK")

SUBSCRIBER = r"""
import json, sys, time, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.SUB); s.setsockopt(zmq.RCVHWM, 0)
for k in ("status", "prediction"):
    s.setsockopt_string(zmq.SUBSCRIBE, "genrecast." + k + ".")
s.connect(sys.argv[1]); out = open(sys.argv[2], "w", buffering=1); print("ready", flush=True)
while True:
    if s.poll(200):
        msg = s.recv(); t = time.time()
        topic, _, body = msg.partition(b" ")
        e = json.loads(body)
        if e["kind"] == "status":
            out.write(f"S {t} {e['source']} {e['state']}\n")
        else:
            out.write(f"P {t} {e['source']} {e['seq']} {e['end_utc']}\n")
"""


def cpu_s(pid: int) -> float:
    """utime + stime of a process and its waited-for children, plus its live children."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / TICKS_S  # utime stime cutime cstime
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def pss_mb(pid: int) -> float:
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def utc_s(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def write_config(path: Path, n: int, url: str, model: Path, endpoint: str,
                 workers: int = 1) -> None:
    lines = [f'[model]\npath = "{model}"\n', f"[decisions]\nhop_s = {HOP_S}\n",
             f"[engine]\nworkers = {workers}\n",
             f'[publish]\nendpoint = "{endpoint}"\nhigh_water_mark = 1000000\n']
    for i in range(n):
        lines.append(f'[[sources]]\nname = "r{i}"\nkind = "url"\ntarget = "{url}"\n')
    path.write_text("\n".join(lines))


def trial(n: int, seconds: float, model: Path, icecast: Icecast,
          workers: int = 1, decoder: str = "libmpg123") -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="radio-bench-"))
    endpoint = f"ipc://{tmp}/events.sock"
    config = tmp / "genrecast.toml"
    write_config(config, n, icecast.url("/radio"), model, endpoint, workers)
    log = tmp / "events.log"
    sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, endpoint, str(log)],
                           stdout=subprocess.PIPE, text=True)
    assert sub.stdout is not None and sub.stdout.readline().strip() == "ready"
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp), GENRECAST_MP3_DECODER=decoder)
    t0 = time.time()
    err = open(tmp / "daemon.err", "w")  # noqa: SIM115 - closed when the daemon has exited
    daemon = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "run", "--config",
                               str(config), "--startup-grace", "0.5"], env=env,
                              stdout=subprocess.DEVNULL, stderr=err)

    def first_time(state: str) -> dict[str, float]:
        first: dict[str, float] = {}
        if log.exists():
            for line in log.read_text().splitlines():
                kind, t, src, *rest = line.split()
                if kind == "S" and rest[0] == state:
                    first.setdefault(src, float(t))
        return first

    def running() -> dict[str, float]:
        return first_time("running")

    up: dict[str, float] = {}
    while time.time() - t0 < START_TIMEOUT_S and daemon.poll() is None:
        up = running()
        if len(up) >= n:
            break
        time.sleep(0.25)
    all_running_s = max(up.values()) - t0 if len(up) >= n else None
    # Sources are added (status "starting") once the model is loaded and the endpoint bound:
    # the time from then to the last "running" is what the sources themselves cost.
    starting = first_time("starting")
    opened_t = min(starting.values()) if starting else t0
    span_start = time.time()
    cpu0 = cpu_s(daemon.pid)
    time.sleep(seconds)
    cpu1 = cpu_s(daemon.pid)
    span_end = time.time()
    pss = pss_mb(daemon.pid)
    t_int = time.monotonic()
    daemon.send_signal(signal.SIGINT)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    exit_s = time.monotonic() - t_int
    err.close()
    if daemon.returncode not in (0, -signal.SIGINT):
        tail = (tmp / "daemon.err").read_text().strip().splitlines()[-1:]
        print(f"daemon exited with {daemon.returncode}: {tail[0] if tail else ''}",
              file=sys.stderr, flush=True)
    time.sleep(0.5)
    sub.terminate()
    sub.wait()

    per_src: dict[str, list[tuple[int, float, float]]] = {}
    for line in log.read_text().splitlines():
        if line.startswith("P "):
            _, t, src, seq, end_utc = line.split()
            per_src.setdefault(src, []).append((int(seq), float(t), utc_s(end_utc)))
    lo, hi = span_start + EDGE_S, span_end - EDGE_S
    expected = received = gaps = 0
    latencies: list[float] = []
    for i in range(n):
        events = per_src.get(f"r{i}", [])
        inside = [e for e in events if lo <= e[2] < hi]
        expected += int((hi - lo) / HOP_S)
        received += len(inside)
        seqs = sorted(e[0] for e in events)
        gaps += sum(b - a - 1 for a, b in zip(seqs, seqs[1:], strict=False) if b - a > 1)
        latencies += [e[1] - e[2] for e in inside]
    latencies.sort()
    q = (lambda f: round(latencies[min(len(latencies) - 1, int(f * len(latencies)))], 3)
         ) if latencies else (lambda f: None)
    p95 = q(0.95)
    result = {
        "n": n, "workers": workers, "decoder": decoder, "model": model.stem,
        "all_running_s": None if all_running_s is None else round(all_running_s, 2), "running": len(up),
        "model_loaded_s": round(opened_t - t0, 2),
        "running_after_open_s": None if all_running_s is None
        else round(max(up.values()) - opened_t, 2),
        "cpu_ms_per_stream_s": round((cpu1 - cpu0) / (n * (span_end - span_start)) * 1000, 3),
        "cores": round((cpu1 - cpu0) / (span_end - span_start), 2),
        "pss_mb_total": round(pss, 1), "pss_mb_per_stream": round(pss / n, 3),
        # windows are counted only when their end lies inside the span, so allow one per source
        "expected": expected, "received": received, "gaps": gaps,
        "p50_s": q(0.5), "p95_s": p95, "exit_s": round(exit_s, 2),
        "exit_code": daemon.returncode,
    }
    result["sustained"] = bool(result["running"] == n and gaps == 0
                               and received >= expected - n and p95 is not None and p95 < HOP_S)
    return result


def raw_costs() -> dict[str, float]:
    """CPU per stream-second of decoding the benchmark's audio: in-process (our decoder) and
    ffmpeg's command line (to 8 kHz mono, as the fallback does), one stream, one thread."""
    tmp = Path(tempfile.mkdtemp(prefix="radio-raw-"))
    mp3 = tmp / "demo.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-stream_loop", "9", "-i",
                    str(DEMO), "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
                    str(mp3)], check=True)  # as stations send it: 44.1 kHz stereo
    data = mp3.read_bytes()
    from genrecast.daemon.audio.ring import Ring
    from genrecast.daemon.audio.sources.stream_decode import (
        BATCH_BYTES,
        MP3_DECODER_ENV,
        OUT_RATE_HZ,
        StreamDecoder,
    )

    costs: dict[str, float] = {}
    seconds = 0.0
    # 8 kHz: what the 400-Hz default gets; 16 kHz: what a wide (16-kHz) model gets.
    for backend, rate in itertools.product(("libmpg123", "libavcodec"), (OUT_RATE_HZ, 16_000)):
        os.environ[MP3_DECODER_ENV] = backend
        ring = Ring(rate * 4, 1)
        decoder = StreamDecoder("mp3", ring.write, lambda exc: None, rate)
        t = time.process_time()
        for i in range(0, len(data), BATCH_BYTES):
            decoder.feed(data[i:i + BATCH_BYTES])
        used = time.process_time() - t
        seconds = ring.written / rate
        costs[f"{decoder.backend}_{rate // 1000}k_ms_per_stream_s"] = round(used / seconds * 1000, 3)
    os.environ.pop(MP3_DECODER_ENV)
    r = subprocess.run(["bash", "-c", f"TIMEFORMAT='%U %S'; time ffmpeg -nostdin -loglevel error "
                        f"-i {mp3} -f f32le -ac 1 -ar {OUT_RATE_HZ} - > /dev/null"],
                       capture_output=True, text=True, check=True)
    user, sys_ = map(float, r.stderr.split()[-2:])
    return {"audio_s": round(seconds, 1), **costs,
            "ffmpeg_cli_ms_per_stream_s": round((user + sys_) / seconds * 1000, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, action="append", help="streams per trial (repeatable)")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured span per trial")
    ap.add_argument("--model", type=Path, action="append",
                    help="model(s) (default: the light model)")
    ap.add_argument("--workers", type=int, action="append",
                    help="[engine] workers per trial (repeatable; default 1)")
    ap.add_argument("--decoder", choices=["libmpg123", "libavcodec"], action="append",
                    help="MP3 decoder per trial (repeatable; default libmpg123)")
    ap.add_argument("--raw", action="store_true", help="only the raw decode costs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    raw = raw_costs()
    print("raw decode, one stream:", json.dumps(raw), flush=True)
    if args.raw:
        return
    counts = args.n or [100, 500, 1000]
    models = [m.resolve() for m in args.model or [LIGHT_MODEL]]  # the config lives elsewhere
    icecast = Icecast(clients=max(counts) + 50, burst_bytes=0)
    icecast.start()
    results = []
    try:
        icecast.feed("/radio", DEMO)
        for model in models:
            for n in counts:
                for workers in args.workers or [1]:
                    for decoder in args.decoder or ["libmpg123"]:
                        res = trial(n, args.seconds, model, icecast, workers, decoder)
                        print(json.dumps(res), flush=True)
                        results.append(res)
    finally:
        icecast.stop()
    cols = ["model", "n", "workers", "decoder", "model_loaded_s", "running_after_open_s", "all_running_s",
            "cpu_ms_per_stream_s", "cores",
            "pss_mb_per_stream", "expected", "received", "gaps", "p50_s", "p95_s", "exit_s", "sustained"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for res in results:
        print("| " + " | ".join(str(res[c]) for c in cols) + " |")
    print("\nraw decode (same audio, one thread), ms per stream-second, to 8 / 16 kHz: libmpg123 "
          f"{raw['libmpg123_8k_ms_per_stream_s']} / {raw['libmpg123_16k_ms_per_stream_s']}, "
          f"libavcodec {raw['libavcodec_8k_ms_per_stream_s']} / "
          f"{raw['libavcodec_16k_ms_per_stream_s']}, ffmpeg CLI {raw['ffmpeg_cli_ms_per_stream_s']} "
          f"(median of none: one run each; machine load {os.getloadavg()[0]:.1f})")
    if args.json:
        args.json.write_text(json.dumps({"raw": raw, "trials": results}, indent=1))


if __name__ == "__main__":
    main()
