"""Faults under a running daemon with four sources (PortAudio capture through PulseAudio, an HTTP
stream through ffmpeg, stdin, a looping file), all at once, as a deployment meets them: the
capture device vanishes (its null sink unloaded), the stream server stalls (accepts, sends
nothing), a subscriber stops reading, the model file is replaced by garbage before SIGHUP. Then
the faults end. The daemon must stay up, report each fault as a status event and a metric,
recover by itself, and a subscriber's sequence numbers must account for every window.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import zmq

from tests.support.faults import (
    TONE_MODEL,
    Listener,
    PrivatePulse,
    Radio,
    StdinFeeder,
    VerboseDaemon,
    check_accounting,
    free_port,
    plug_null_sink,
    scrape,
    stuck_subscriber,
    tone_s16,
    unplug_null_sink,
    wait_for,
)

SOURCES = ("room", "radio", "pipe", "song")
FAULT_HOLD_S = 6.0
STDIN_RATE_HZ = 16_000


def _states(listener: Listener, source: str) -> list[str]:
    return [e["state"] for e in listener.of("status", source)]


def _metric(port: int, key: str) -> float:
    return scrape(port).get(key, 0.0)


@pytest.mark.slow
def test_faults_at_once_then_recovery(tmp_path: Path) -> None:
    pulse = PrivatePulse(tmp_path / "pulse")
    pulse.start()
    radio = Radio(free_port())
    radio.start()
    model = tmp_path / "model.tflite"
    shutil.copy(TONE_MODEL, model)
    shutil.copy(TONE_MODEL.with_suffix(".json"), model.with_suffix(".json"))
    song = tmp_path / "song.wav"
    sf.write(song, np.frombuffer(tone_s16(150, 8.0, 22_050), dtype="<i2") / 32768, 22_050)
    metrics_port = free_port()
    endpoint = f"ipc://{tmp_path}/events.sock"
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{model}"
[[sources]]
name = "room"
kind = "mic"
[[sources]]
name = "radio"
kind = "url"
target = "http://127.0.0.1:{radio.port}/stream.wav"
[[sources]]
name = "pipe"
kind = "stdin"
rate_hz = {STDIN_RATE_HZ}
[[sources]]
name = "song"
kind = "file"
target = "{song}"
loop = true
[decisions]
hop_s = 0.05
[publish]
endpoint = "{endpoint}"
heartbeat_s = 1.0
high_water_mark = 20
startup_grace_s = 1.5
[control]
endpoint = "off"
[metrics]
port = {metrics_port}
""")
    listener = Listener(endpoint, seconds=600)  # connected before the first event
    daemon = VerboseDaemon(tmp_path, config, stdin=True, env=pulse.env)
    assert daemon.proc.stdin is not None
    feeder = StdinFeeder(daemon.proc.stdin, STDIN_RATE_HZ)
    ctx = zmq.Context()
    stuck = None
    try:
        daemon.wait_ready(60)
        for name in SOURCES:
            wait_for(lambda name=name: listener.of("prediction", name), 30,
                     f"predictions from {name}")
        marks = {name: len(_states(listener, name)) for name in SOURCES}

        # -- the faults, together --
        radio.stall()
        unplug_null_sink(pulse.env)
        stuck = stuck_subscriber(ctx, endpoint)
        model.write_bytes(b"\x00garbage, not a flatbuffer" * 40)
        daemon.proc.send_signal(signal.SIGHUP)
        fault_at = time.monotonic()
        wait_for(lambda: [e for e in listener.of("status", "*") if e.get("reload") == "rejected"],
                 30, "a reload-rejected status event")
        for name in ("radio", "room"):
            wait_for(lambda name=name: {"stalled", "lost"} & set(_states(listener, name)[marks[name]:]),
                     20, f"{name} reported stalled/lost: {_states(listener, name)}")
        time.sleep(max(0.0, FAULT_HOLD_S - (time.monotonic() - fault_at)))
        assert daemon.proc.poll() is None, f"daemon exited: {daemon.stderr()[-3000:]}"
        n_pipe = len(listener.of("prediction", "pipe"))
        n_song = len(listener.of("prediction", "song"))
        assert n_pipe > 0 and n_song > 0

        # -- the faults end --
        radio.unstall()
        plug_null_sink(pulse.env)
        shutil.copy(TONE_MODEL, model)
        daemon.proc.send_signal(signal.SIGHUP)
        # The stuck subscriber is still there: events may be dropped for every subscriber (and
        # counted), so recovery is watched through the metrics, which drops cannot hide.
        wait_for(lambda: _metric(metrics_port, 'genrecast_reloads_total{result="ok"}') == 1.0,
                 30, "a successful reload")
        for name in ("radio", "room"):
            try:
                wait_for(lambda name=name: _metric(
                    metrics_port, f'genrecast_source_state{{source="{name}",state="running"}}')
                    == 1.0 and _metric(metrics_port, f'genrecast_source_transitions_total'
                                       f'{{source="{name}",to="recovering"}}') >= 1.0, 60,
                    f"{name} recovered by itself")
            except AssertionError as exc:
                details = [(e["state"], e["detail"]) for e in listener.of("status", name)]
                raise AssertionError(f"{exc}: {details}; {daemon.stderr()[-3000:]}") from None
        stuck.close(linger=0)  # the subscriber goes away: drops stop
        stuck = None
        after = {name: len(listener.of("prediction", name)) for name in SOURCES}
        for name in SOURCES:
            wait_for(lambda name=name: len(listener.of("prediction", name)) > after[name] + 3,
                     20, f"predictions from {name} after recovery")

        metrics = scrape(metrics_port)
        for name in ("radio", "room"):
            faults = sum(metrics.get(f'genrecast_source_transitions_total{{source="{name}",'
                                     f'to="{state}"}}', 0.0) for state in ("stalled", "lost"))
            assert faults >= 1, f"no stalled/lost transition metric for {name}"
        assert metrics.get('genrecast_reloads_total{result="rejected"}') == 1.0
        assert metrics.get('genrecast_reloads_total{result="ok"}') == 1.0

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=20) == 0, daemon.stderr()[-3000:]
        time.sleep(1.0)  # the final "stopped" events reach the subscriber
        listener.close()
        acc = check_accounting(listener.events, daemon.stderr())
        print(f"accounting: {({k: v for k, v in acc.items() if k != 'per_source'})}")
        for name in SOURCES:
            assert acc["per_source"][name]["prediction"]["made"] > 10, acc
        # The stuck subscriber made the daemon drop events (the accounting had gaps to explain).
        assert acc["daemon_dropped"] > 0, acc
        assert metrics.get("genrecast_events_dropped_total", 0.0) > 0
    finally:
        feeder.close()
        if stuck is not None:
            stuck.close(linger=0)
        ctx.term()
        daemon.close()
        listener.close()
        radio.stop()
        pulse.kill()
