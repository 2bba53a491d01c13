"""UrlSource on its own: open() returns at once, real MP3 decoded in-process while crafted ICY
blocks (good, malformed, oversized) are stripped, other content goes through ffmpeg, failures are
reported with their reason, close() is quick."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from genrecast.daemon.audio.sources.url import URL_RATE_HZ, UrlSource
from genrecast.daemon.engine.supervisor import BACKOFF_JITTER, jittered
from genrecast.daemon.settings import SourceSettings

from tests.support.common import tone
from tests.support.icy_server import METAINT, OneShotServer, icy_block, with_icy


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def mp3_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("mp3")
    wav = folder / "tone.wav"
    sf.write(wav, tone(150, 6.0, 44_100, 2), 44_100, subtype="PCM_16")
    mp3 = folder / "tone.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a",
                    "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0",
                    str(mp3)], check=True)
    return mp3.read_bytes()


def source(url: str) -> UrlSource:
    return UrlSource(SourceSettings(name="r", kind="url", target=url))


def test_mp3_with_crafted_metadata_is_decoded_and_bad_blocks_counted(mp3_bytes: bytes) -> None:
    blocks = [icy_block(b"StreamTitle='Good One';"), b"\0",
              icy_block(b"\xff\xfe not a field at all"),
              bytes([200]) + b"x" * 16 * 200,  # 3200 bytes of junk
              icy_block(b"StreamTitle='" + b"w" * 2000 + b"';")]  # a title beyond 1024 chars
    server = OneShotServer(f"Content-Type: audio/mpeg\r\nicy-metaint: {METAINT}\r\n",
                           with_icy(mp3_bytes, blocks))
    src = source(f"http://127.0.0.1:{server.port}/live")
    try:
        t0 = time.monotonic()
        src.open()
        assert time.monotonic() - t0 < 0.5, "open() must not wait for the stream"
        wait_until(lambda: src.ring is not None and src.ring.written >= 5 * URL_RATE_HZ)
        assert src.error is None and src.path == "libmpg123"
        audio = src.ring.read()[:, 0]
        # The 150-Hz tone survived decoding and resampling (and no metadata byte became audio).
        spectrum = np.abs(np.fft.rfft(audio[URL_RATE_HZ:URL_RATE_HZ * 4]))
        peak_hz = np.argmax(spectrum) * URL_RATE_HZ / (3 * URL_RATE_HZ)
        assert abs(peak_hz - 150) < 2, peak_hz
        changes = src.take_track_changes()
        assert [c.title for c in changes] == ["Good One"]
        assert src.malformed_meta_blocks >= 3
    finally:
        t0 = time.monotonic()
        src.close()
        assert time.monotonic() - t0 < 1.0
        server.close()


def test_other_content_goes_through_ffmpeg_with_titles(tmp_path: Path) -> None:
    wav = tmp_path / "t.wav"
    sf.write(wav, tone(50, 4.0, 16_000, 1), 16_000, subtype="PCM_16")
    server = OneShotServer(f"Content-Type: audio/wav\r\nicy-metaint: {METAINT}\r\n",
                           with_icy(wav.read_bytes(), [icy_block(b"StreamTitle='Piped';")]))
    src = source(f"http://127.0.0.1:{server.port}/x.wav")
    try:
        src.open()
        wait_until(lambda: src.ring is not None and src.ring.written >= 2 * URL_RATE_HZ)
        assert src.path == "ffmpeg-pipe"
        assert [c.title for c in src.take_track_changes()] == ["Piped"]
    finally:
        src.close()
        server.close()


def test_a_refused_connection_is_reported_not_raised() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = source(f"http://127.0.0.1:{port}/m")
    src.open()  # returns at once; the failure arrives through ``error``
    wait_until(lambda: src.error is not None, 10)
    assert "refused" in str(src.error)
    from genrecast.daemon.errors import InputNotFound

    with pytest.raises(InputNotFound, match="cannot be opened"):
        src.wait_ready(1.0)
    src.close()


def test_backoff_is_jittered() -> None:
    waits = [jittered(4.0) for _ in range(200)]
    assert min(waits) >= 4.0 * (1 - BACKOFF_JITTER) and max(waits) <= 4.0 * (1 + BACKOFF_JITTER)
    assert max(waits) - min(waits) > 2.0, "streams that dropped together must not retry together"
