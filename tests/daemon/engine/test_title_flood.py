"""Title floods: a station that changes its ICY title hundreds of times a second gets at most
``TITLE_BURST`` track events at once and then one per ``TITLE_INTERVAL_S``; the newest title is
always published in the end, and what was left out is counted (``titles_suppressed``, in the
heartbeat and in /metrics)."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
import soundfile as sf
import zmq
from genrecast.daemon.audio.sources.base import TrackChange
from genrecast.daemon.engine.now_playing import TITLE_BURST, TITLE_INTERVAL_S, NowPlaying
from genrecast.daemon.wire.events import EventFactory, encode

from tests.support.common import TONE_MODEL, tone
from tests.support.daemon_proc import DaemonProc, Listener, wait_for
from tests.support.icecast import free_port
from tests.support.icy_server import METAINT, OneShotServer, icy_block, with_icy

RATE_HZ = 44_100
FLOOD_TITLES = 1000  # more than the body has room for: no title repeats


def _change(i: int) -> TrackChange:
    return TrackChange(f"t{i}", f"t{i - 1}" if i else None, "", 0)


def test_a_flood_is_capped_and_the_newest_title_still_published() -> None:
    playing = NowPlaying(enabled=True, reset_on_track=True)
    for i in range(100):  # 100 changes within one second
        playing.note(_change(i), at_s=i / 100, at_wall_s=0.0, now_s=100.0 + i / 100)
    published = [t.title for t in playing.pending]
    assert len(published) <= TITLE_BURST + 1, published
    playing.release(now_s=101.0 + TITLE_INTERVAL_S)  # the limit allows one again
    published = [t.title for t in playing.pending]
    assert published[-1] == "t99"
    assert playing.suppressed == 100 - len(published)
    # "previous" names the title subscribers were told last, not one they never saw.
    assert playing.pending[-1].previous == published[-2]
    playing.release(now_s=200.0)
    assert len(playing.pending) == len(published)  # nothing held twice


def test_titles_at_a_normal_pace_are_all_published() -> None:
    playing = NowPlaying(enabled=True, reset_on_track=True)
    for i in range(20):  # a change every 2.5 s (songs, adverts, jingles)
        playing.note(_change(i), at_s=2.5 * i, at_wall_s=0.0, now_s=2.5 * i)
    assert [t.title for t in playing.pending] == [f"t{i}" for i in range(20)]
    assert playing.suppressed == 0


def _metric(port: int, name: str, labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    match = re.search("^" + re.escape(name + "{" + labels + "}") + r" (\S+)$", text, re.M)
    return float(match.group(1)) if match else float("nan")


def _joined_listener(endpoint: str) -> Listener:
    """A ``genrecast listen`` process that has surely joined ``endpoint`` before the daemon
    binds it (a stand-in publisher until it receives; it reconnects to the daemon by itself),
    so it misses none of the station's first titles."""
    listener = Listener(endpoint, "track")
    ctx = zmq.Context()
    stand_in = ctx.socket(zmq.PUB)
    stand_in.bind(endpoint)
    try:
        def joined() -> bool:
            stand_in.send(encode(*EventFactory("m").make("track", "probe", time.time(),
                                                         title="probe")))
            return bool(listener.of("track", "probe"))

        wait_for(joined, 30, "the subscriber to join", interval_s=0.1)
    finally:
        stand_in.close(linger=0)
        ctx.term()
    return listener


@pytest.mark.slow
def test_a_flooding_station_is_limited_end_to_end(tmp_path: Path) -> None:
    wav, mp3 = tmp_path / "c.wav", tmp_path / "c.mp3"
    sf.write(wav, tone(50, 40.0, RATE_HZ, 2), RATE_HZ, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a",
                    "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0",
                    str(mp3)], check=True)
    blocks = [icy_block(f"StreamTitle='Flood {i}';".encode()) for i in range(FLOOD_TITLES)]
    body = with_icy(mp3.read_bytes(), blocks)  # a title every 4000 bytes, in one burst
    sent = len(mp3.read_bytes()) // METAINT  # 160 titles in 40 s of audio
    station = OneShotServer(f"Content-Type: audio/mpeg\r\nicy-metaint: {METAINT}\r\n", body)
    metrics_port = free_port()
    config = tmp_path / "genrecast.toml"
    config.write_text(f"""
[model]
path = "{TONE_MODEL}"
[[sources]]
name = "room"
kind = "file"
target = "{wav}"
loop = true
[[sources]]
name = "flood"
kind = "url"
target = "http://127.0.0.1:{station.port}/live"
[publish]
endpoint = "ipc://{tmp_path}/events.sock"
heartbeat_s = 0.5
[control]
endpoint = "off"
[metrics]
port = {metrics_port}
""")
    listener = _joined_listener(f"ipc://{tmp_path}/events.sock")
    daemon = DaemonProc(tmp_path, config)
    try:
        daemon.wait_ready(60)

        def suppressed() -> float:
            value = _metric(metrics_port, "genrecast_titles_suppressed_total", 'source="flood"')
            return value if value >= sent / 2 else 0.0

        wait_for(suppressed, 30, "the flood to be counted")
        time.sleep(TITLE_INTERVAL_S + 0.5)  # the held title goes out
        tracks = listener.of("track", "flood")
        times = [datetime.fromisoformat(e["time"]).timestamp() for e in tracks]
        busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert busiest <= TITLE_BURST, f"{busiest} track events in one second"  # before: 293
        assert len(tracks) < sent / 4, f"{len(tracks)} track events for {sent} titles"
    finally:
        listener.close()
        daemon.close()
        station.close()
