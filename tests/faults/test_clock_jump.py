"""The wall clock jumps (NTP step, a VM resumed, an admin's ``date -s``) under a running daemon.

Supervision runs on ``time.monotonic()``; only UTC timestamps come from ``time.time()``. The
system clock cannot be stepped safely on a shared machine, so the wall clock is offset
in-process: ``time.time`` (which every daemon module calls through the ``time`` module) jumps an
hour forward, then two hours back, then returns. Nothing may stall or restart, no window may be
lost or repeated, and the stream positions (``start_s``) stay on the audio's own clock.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from genrecast.daemon.engine.daemon import Daemon
from genrecast.daemon.settings import DecisionSettings, PublishSettings, Settings, SourceSettings

from tests.support.faults import TONE_MODEL

HOP_S = 0.25
JUMPS_S = ((3.5, 3600.0), (5.0, -3600.0), (6.5, 0.0))  # (stream s, offset); 1st window ends at 3 s
RUN_S = 8.0


def test_wall_clock_jumps_do_not_disturb_supervision(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    song = tmp_path / "tone.wav"
    t = np.arange(10 * 16_000) / 16_000
    sf.write(song, (0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), 16_000)
    spec = SourceSettings(name="f", kind="file", target=str(song), realtime=True, loop=True)
    settings = Settings(sources=(spec,), model_path=TONE_MODEL,
                        decisions=DecisionSettings(hop_s=HOP_S),
                        publish=PublishSettings(endpoint="inproc://clock-jump", heartbeat_s=0.5))
    real_time = time.time
    offset = {"s": 0.0}
    monkeypatch.setattr(time, "time", lambda: real_time() + offset["s"])
    daemon = Daemon(settings)
    events: list[tuple[float, dict[str, Any]]] = []

    def on_event(topic: str, event: dict[str, Any], sent: bool) -> None:
        """Jumps and the stop follow the stream's own clock (the audio delivered), so a busy
        machine that is slow to load the model or to start cannot shorten the run."""
        events.append((offset["s"], event))
        if event["kind"] != "prediction":
            return
        for at_s, value in JUMPS_S:
            if event["end_s"] >= at_s and offset.get(f"done{at_s}") is None:
                offset[f"done{at_s}"] = 1.0
                offset["s"] = value
        if event["end_s"] >= RUN_S:
            daemon.request_stop()

    daemon.on_event.append(on_event)
    timer = threading.Timer(RUN_S + 20, daemon.request_stop)
    timer.start()
    try:
        daemon.start()
        daemon.run()
    finally:
        timer.cancel()

    states = [e["state"] for _, e in events if e["kind"] == "status"]
    assert states == ["starting", "running", "stopped"], states
    preds = [(off, e) for off, e in events if e["kind"] == "prediction"]
    assert [e["seq"] for _, e in preds] == list(range(len(preds))), "a window lost or repeated"
    starts = [e["start_s"] for _, e in preds]
    assert np.allclose(np.diff(starts), HOP_S), "stream positions follow the audio, not the clock"
    # At real-time pacing the windows kept coming through every jump, up to RUN_S of audio
    # (the timer would have stopped a run whose pacing broke long before that).
    assert starts[-1] + 3.0 >= RUN_S and len(preds) >= (RUN_S - 3.0) / HOP_S + 1, len(preds)
    # The jumps were really injected: event times moved with the wall clock (both ways).
    offsets = {off for off, _ in preds}
    assert {3600.0, -3600.0} <= offsets, offsets
    heartbeats = [e for _, e in events if e["kind"] == "heartbeat"]
    uptimes = [h["uptime_s"] for h in heartbeats]
    # Monotonic, and no 3600-s jump in it (the run itself may take longer on a busy machine).
    assert uptimes == sorted(uptimes) and uptimes[-1] < RUN_S + 60, "uptime is monotonic"
