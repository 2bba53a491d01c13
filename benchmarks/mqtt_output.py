"""Cost of the MQTT output: the loop thread's hook and the MQTT thread, against a real broker.

    python benchmarks/mqtt_output.py [--sources 1000] [--windows 20] [--predictions]

Starts a private mosquitto on loopback, attaches ``MqttOutput`` with N file-like sources, and
feeds it prediction events the way the daemon's loop does (``on_event`` per window, a genre
change every 10 windows, the level moving by a few dB). Prints, side by side: the hook's time
per event on the calling thread (median of batches), the MQTT thread's CPU per event (its own
thread clock), how fast the MQTT thread drains a burst (fed in batches of 1000 while its queue is
less than half full), and MQTT messages sent per window.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' broker helper, as tests.support.mosquitto

from genrecast.daemon.outputs.mqtt.output import QUEUE_EVENTS, MqttOutput  # noqa: E402
from genrecast.daemon.settings import MqttSettings, SourceSettings  # noqa: E402
from genrecast.daemon.wire.events import EventFactory, utc_iso  # noqa: E402

from tests.support.mosquitto import Mosquitto  # noqa: E402

BATCH = 1000


def events(n_sources: int, windows: int) -> list[dict[str, object]]:
    factory = EventFactory("bench@0")
    out = []
    for w in range(windows):
        genre = "rock" if (w // 10) % 2 == 0 else "classical"
        for s in range(n_sources):
            p = 0.9 if genre == "rock" else 0.1
            _, e = factory.make(
                "prediction", f"s{s}", time.time(), label=genre, confidence=0.9,
                probabilities={"rock": p, "classical": 1 - p},
                smoothed={"rock": p, "classical": 1 - p}, silent=False,
                rms_dbfs=-20.0 - (w % 4), start_s=w * 0.5, end_s=w * 0.5 + 3,
                start_utc=utc_iso(time.time()), end_utc=utc_iso(time.time()), genre=genre)
            out.append(e)
            if w % 10 == 0:
                _, g = factory.make("genre", f"s{s}", time.time(), genre=genre, previous=None,
                                    confidence=0.9, previous_duration_s=None, at_s=w * 0.5 + 3,
                                    at_utc=utc_iso(time.time()))
                out.append(g)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--predictions", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp), {"genrecast": "pw"})
        broker.start()
        try:
            settings = MqttSettings(url=broker.url, username="genrecast", password="pw",
                                    client_id="bench", predictions=args.predictions)
            sources = tuple(SourceSettings(f"s{i}", "file", "x") for i in range(args.sources))
            output = MqttOutput(settings, sources).start()
            deadline = time.monotonic() + 10
            while output.status.state != "connected" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert output.status.state == "connected", output.status
            time.sleep(1.0)  # the discovery burst goes out first
            clock = time.pthread_getcpuclockid(output._thread.ident or 0)  # noqa: SLF001
            published0 = output.status.published
            cpu0 = time.clock_gettime(clock)
            feed = events(args.sources, args.windows)
            hook_ns = []
            t0 = time.perf_counter()
            for i in range(0, len(feed), BATCH):
                chunk = feed[i:i + BATCH]
                a = time.perf_counter_ns()
                for e in chunk:
                    output.on_event("", e, True)
                hook_ns.append((time.perf_counter_ns() - a) / len(chunk))
                while output._queue.qsize() > QUEUE_EVENTS // 2:  # noqa: SLF001 - stay below
                    time.sleep(0.001)  # the queue's bound: a burst, not an overload
            while output._queue.qsize() > 0:  # noqa: SLF001
                time.sleep(0.01)
            drained_s = time.perf_counter() - t0
            cpu_s = time.clock_gettime(clock) - cpu0
            sent = output.status.published - published0
            output.close()
        finally:
            broker.stop()
    windows = args.sources * args.windows
    print(f"sources {args.sources}, windows {windows}, events {len(feed)}, "
          f"predictions topic {'on' if args.predictions else 'off'}")
    print(f"{'hook on the loop thread, µs per event (median of batches)':<62} "
          f"{statistics.median(hook_ns) / 1e3:8.2f}")
    print(f"{'MQTT thread CPU, µs per event':<62} {cpu_s / len(feed) * 1e6:8.2f}")
    print(f"{'burst drained at, events/s':<62} {len(feed) / drained_s:8.0f}")
    print(f"{'MQTT messages per window':<62} {sent / windows:8.3f}")
    print(f"{'dropped':<62} {output.status.dropped:8d}")


if __name__ == "__main__":
    main()
