"""Latency and CPU cost of the live pipeline, side by side in one run.

Prints:
* the raw LiteRT ``invoke()`` time for one window (batch 1), median over many calls;
* the daemon's CPU time per window in each stage (resample = drain + downmix + resample + window,
  classify, smooth = decisions + event building, publish = JSON encode + ZeroMQ send), measured
  with the loop thread's CPU clock during a real-time run;
* end-to-end latency from the last sample of a window entering the process (the capture block
  that carried it landing in the ring) to the event arriving at a subscriber in another process
  (median and p95). It includes the resampler's filter look-ahead (``StreamingResampler.delay_s``)
  and the capture block size, which are part of what a listener experiences.

    python benchmarks/latency.py [--seconds 20] [--sources 1] [--model M] [--block-ms 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from genrecast.daemon.audio.sources.file import FileSource
from genrecast.daemon.cli.demo import DEMO_AUDIO
from genrecast.daemon.dsp.resample import StreamingResampler
from genrecast.daemon.engine.daemon import Daemon
from genrecast.daemon.model.classifier import Classifier
from genrecast.daemon.settings import PublishSettings, Settings, SourceSettings
from genrecast.models import default_model_path

SUBSCRIBER = r"""
import json, sys, time, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.SUB); s.setsockopt_string(zmq.SUBSCRIBE, "genrecast.prediction.")
s.connect(sys.argv[1]); print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if s.poll(100):
        msg = s.recv(); t = time.monotonic()
        ev = json.loads(msg.split(b" ", 1)[1])
        print(json.dumps([t, ev["source"], ev["end_s"]]), flush=True)
"""


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def raw_invoke_us(model: Path, repeats: int = 2000) -> float:
    clf = Classifier(model, try_gpu=False)
    interp = clf._interp  # the bare LiteRT interpreter, batch 1
    clf._resize(1)
    x = clf.card.normalisation.apply(
        np.random.default_rng(0).normal(0, 0.1, (1, clf.card.window_samples)).astype(np.float32))
    interp.set_tensor(clf._in_index, x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        interp.invoke()
        times.append((time.perf_counter_ns() - t0) / 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=default_model_path())
    ap.add_argument("--audio", type=Path, default=DEMO_AUDIO)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--sources", type=int, default=1, help="sources classified in one batch")
    ap.add_argument("--block-ms", type=float, default=20.0, help="capture block, like a mic")
    args = ap.parse_args()

    invoke_us = raw_invoke_us(args.model)

    with tempfile.TemporaryDirectory() as tmp:
        endpoint = f"ipc://{tmp}/events.sock"
        specs = [SourceSettings(name=f"s{i}", kind="file", target=str(args.audio), realtime=True,
                                loop=True) for i in range(args.sources)]
        import soundfile as sf

        rate = sf.info(str(args.audio)).samplerate
        block = max(1, int(rate * args.block_ms / 1000))
        sources = [FileSource(s, block_frames=block) for s in specs]
        settings = Settings(sources=tuple(specs), model_path=args.model,
                            publish=PublishSettings(endpoint=endpoint))
        daemon = Daemon(settings, sources=sources)
        sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, endpoint,
                                str(args.seconds + 8)], stdout=subprocess.PIPE, text=True)
        assert sub.stdout is not None
        sub.stdout.readline()
        daemon.start(subscriber_grace_s=0.5)
        timer = threading.Timer(args.seconds, daemon.request_stop)
        timer.start()
        # Keep the rings' arrival logs: read them after the run, before anything is reused.
        daemon.run()
        timer.cancel()
        sub.terminate()
        lines = sub.stdout.read().splitlines()
        sub.wait()

    by_name = {s.name: s for s in sources}
    latencies_ms = []
    for line in lines:
        t_recv, name, end_s = json.loads(line)
        src = by_name[name]
        assert src.ring is not None and src.rate_hz is not None
        last_frame = int(round(end_s * src.rate_hz)) - 1
        arrived = src.ring.arrival_time(last_frame)
        if arrived is not None:
            latencies_ms.append((t_recv - arrived) * 1e3)
    stages = daemon.stage_times.per_window_us()
    resampler_ms = StreamingResampler(rate, 400).delay_s * 1e3

    print(f"model {args.model.name} ({daemon.backend}), audio {args.audio.name} at {rate} Hz, "
          f"{args.sources} source(s), {args.block_ms:g}-ms capture blocks, {args.seconds:g} s run")
    print(f"windows classified: {daemon.stage_times.windows} in {daemon.stage_times.batches} "
          f"batches; events measured at the subscriber: {len(latencies_ms)}")
    print()
    print(f"{'raw LiteRT invoke / window (batch 1, median)':<48} {invoke_us:10.1f} µs")
    for name in ("resample", "classify", "smooth", "publish"):
        print(f"{'daemon CPU / window: ' + name:<48} {stages[name]:10.1f} µs")
    total = sum(stages.values())
    print(f"{'daemon CPU / window: total':<48} {total:10.1f} µs  "
          f"({total / invoke_us:.1f}× the raw invoke)")
    if latencies_ms:
        print(f"{'end-to-end latency, median':<48} {statistics.median(latencies_ms):10.1f} ms")
        print(f"{'end-to-end latency, p95':<48} {percentile(latencies_ms, 95):10.1f} ms")
    print(f"{'  of which resampler look-ahead + block (fixed)':<48} {resampler_ms:10.1f} ms")


if __name__ == "__main__":
    main()
