"""Now playing against a real Icecast 2 server fed by ffmpeg: track events when the title changes
through Icecast's admin API, ``stream_title`` in predictions, the smoother's reset on a new track,
a station without metadata, and a dead station that holds nobody back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import soundfile as sf

from tests.support.common import tone
from tests.support.daemon_proc import Listener, genrecast, wait_for
from tests.support.icecast import Icecast, icecast_binary

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(icecast_binary() is None, reason="needs icecast2 (.ci/setup)")]
RATE_HZ = 44_100


def alternating_tones(path: Path) -> Path:
    """4 s at 50 Hz, 4 s at 150 Hz, repeated: windows differ, so a running average differs from
    the latest window unless it was just reset."""
    block = np.concatenate((tone(50, 4.0, RATE_HZ, 2), tone(150, 4.0, RATE_HZ, 2)))
    sf.write(path, np.concatenate([block] * 3), RATE_HZ, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def icecast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Icecast]:
    audio = alternating_tones(tmp_path_factory.mktemp("icecast") / "tones.wav")
    server = Icecast(clients=20)
    server.start()
    try:
        server.feed("/titled", audio, title="Artist - First")
        server.feed("/plain", audio)  # nobody ever sets a title here
        yield server
    finally:
        server.stop()


class Daemon:
    def __init__(self, model: Path, endpoint: str, *sources: str) -> None:
        cmd = genrecast("run", "--model", str(model), "--publish", endpoint, "--hop", "0.5",
                        "--startup-grace", "1.0")
        for s in sources:
            cmd += ["--source", s]
        env = dict(os.environ, XDG_RUNTIME_DIR=tempfile.mkdtemp(prefix="genrecast-test-"))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=env)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err, err
        return err


def close(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(abs(a[k] - b[k]) < 1e-4 for k in a)


def test_title_changes_become_track_events_and_reset_the_smoother(
        icecast: Icecast, tone_model: Path, free_tcp_endpoint: str,
        event_schema: dict[str, Any]) -> None:
    listener = Listener(free_tcp_endpoint, "prediction", "track", "status", "genre")
    daemon = Daemon(tone_model, free_tcp_endpoint, f"titled=url:{icecast.url('/titled')}",
                    f"plain=url:{icecast.url('/plain')}")
    try:
        wait_for(lambda: len(listener.of("prediction", "titled")) >= 8
                 and len(listener.of("prediction", "plain")) >= 8, 60, "predictions of both")
        icecast.set_title("/titled", "Artist - Second")
        wait_for(lambda: len(listener.of("track", "titled")) >= 2, 30, "the second track event")
        second_at_s = listener.of("track", "titled")[1]["at_s"]
        wait_for(lambda: any(e["start_s"] >= second_at_s + 1.0
                             for e in listener.of("prediction", "titled")), 30,
                 "windows of the second track")
    finally:
        err = daemon.stop()
        listener.close()
    for event in listener.events:
        jsonschema.validate(event, event_schema)

    tracks = listener.of("track", "titled")
    assert [(t["title"], t["previous"]) for t in tracks] == [
        ("Artist - First", None), ("Artist - Second", "Artist - First")]
    change_s = tracks[1]["at_s"]

    windows = listener.of("prediction", "titled")
    assert all(w["stream_title"] == "Artist - First" for w in windows if w["end_s"] < change_s)
    assert all(w["stream_title"] == "Artist - Second" for w in windows if w["end_s"] >= change_s)
    assert any(w["end_s"] < change_s for w in windows)
    # The running average usually mixes windows; the first window that starts after the
    # change is averaged alone (the smoother forgot the previous track).
    assert any(not close(w["smoothed"], w["probabilities"]) for w in windows), \
        "the audio must make the average differ from single windows, or the check below is void"
    first_new = next(w for w in windows if w["start_s"] >= change_s)
    assert close(first_new["smoothed"], first_new["probabilities"]), first_new

    # The station without metadata: windows say so, no track event, no error.
    plain = listener.of("prediction", "plain")
    assert plain and all(w["stream_title"] is None for w in plain)
    assert listener.of("track", "plain") == []
    assert "lost" not in [e["state"] for e in listener.of("status", "plain")], err


def test_a_dead_station_holds_nobody_back(icecast: Icecast, tone_model: Path,
                                          free_tcp_endpoint: str) -> None:
    """A server that accepts and never answers: the live station runs while it still waits."""
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(8)
    port = black_hole.getsockname()[1]
    listener = Listener(free_tcp_endpoint, "status", "prediction")
    daemon = Daemon(tone_model, free_tcp_endpoint, f"dead=url:http://127.0.0.1:{port}/m",
                    f"live=url:{icecast.url('/plain')}")
    try:
        wait_for(lambda: "running" in [e["state"] for e in listener.of("status", "live")], 60,
                 "the live station running")
        wait_for(lambda: len(listener.of("prediction", "live")) >= 2, 60, "its predictions")
    finally:
        daemon.stop()
        listener.close()
        black_hole.close()
    order = [(e["source"], e["state"]) for e in listener.of("status")]
    assert ("live", "running") in order
    # Still connecting (starting, then stalled: no audio) when the live one ran; never running.
    before = order[:order.index(("live", "running"))]
    assert [s for src, s in before if src == "dead"] == ["starting"], order
    assert ("dead", "running") not in order
