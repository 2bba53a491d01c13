"""A ``url:`` stream is decoded with the bandwidth the model hears: 8 kHz for the 400-Hz default,
the model's own rate for a wide (16 kHz) model, on the in-process MP3 path and through ffmpeg."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from genrecast.daemon.audio.sources.url import UrlSource
from genrecast.daemon.settings import SourceSettings

from tests.support.common import tone
from tests.support.icy_server import OneShotServer

HIGH_HZ = 6000  # above the 8-kHz ring's Nyquist (4 kHz), inside a 16-kHz model's band


def _mp3(folder: Path) -> bytes:
    wav = folder / "high.wav"
    sf.write(wav, tone(HIGH_HZ, 6.0, 44_100, 1), 44_100, subtype="PCM_16")
    mp3 = folder / "high.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a",
                    "libmp3lame", "-b:a", "128k", str(mp3)], check=True)
    return mp3.read_bytes()


def _decoded(body: bytes, content_type: str, model_rate_hz: int) -> tuple[int, np.ndarray]:
    server = OneShotServer(f"Content-Type: {content_type}\r\n", body)
    src = UrlSource(SourceSettings(name="r", kind="url",
                                   target=f"http://127.0.0.1:{server.port}/live"), model_rate_hz)
    try:
        src.open()
        deadline = time.monotonic() + 20
        while not (src.ring is not None and src.rate_hz and src.ring.written >= 3 * src.rate_hz):
            assert time.monotonic() < deadline, "no audio"
            time.sleep(0.02)
        assert src.rate_hz is not None
        return src.rate_hz, src.ring.read()[:, 0]
    finally:
        src.close()
        server.close()


@pytest.mark.parametrize("content_type", ["audio/mpeg", "audio/ogg"])
def test_a_wide_model_gets_the_band_a_default_model_does_not_need(
        tmp_path: Path, content_type: str) -> None:
    body = _mp3(tmp_path)
    if content_type == "audio/ogg":  # the ffmpeg path
        ogg = tmp_path / "high.ogg"
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", "-", "-c:a",
                        "libvorbis", str(ogg)], input=body, check=True)
        body = ogg.read_bytes()
    rate, audio = _decoded(body, content_type, 16_000)
    assert rate == 16_000
    spectrum = np.abs(np.fft.rfft(audio[rate: 3 * rate]))
    assert abs(np.argmax(spectrum) * rate / (2 * rate) - HIGH_HZ) < 5
    rate, audio = _decoded(body, content_type, 400)
    assert rate == 8_000
    assert np.sqrt(np.mean(audio[rate:] ** 2)) < 0.01  # the 6-kHz tone is out of its band
