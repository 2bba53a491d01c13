"""libmpg123 decoding of url: MP3 streams: the same 400 Hz audio as libavcodec's full decode, the
stream's own rate decides the reduction, junk before the first frame and torn batches are
survived, non-MP3 bytes are refused, and without the library streams fall back to libavcodec."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from genrecast.daemon.audio.sources import mpg123
from genrecast.daemon.audio.sources.stream_decode import (
    MP3_DECODER_ENV,
    OUT_RATE_HZ,
    StreamDecoder,
)

pytestmark = pytest.mark.skipif(not mpg123.available(), reason="libmpg123 is not installed")


def encode_mp3(folder: Path, rate: int, seconds: float = 6.0) -> bytes:
    """A two-tone stereo signal (different in each channel, so the mono mix is checked) as MP3."""
    t = np.arange(int(seconds * rate)) / rate
    left = 0.4 * np.sin(2 * np.pi * 110 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    right = 0.3 * np.sin(2 * np.pi * 170 * t)
    wav = folder / f"s{rate}.wav"
    sf.write(wav, np.stack([left, right], axis=1).astype(np.float32), rate, subtype="PCM_16")
    mp3 = folder / f"s{rate}.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a",
                    "libmp3lame", "-b:a", "96k", str(mp3)], check=True)
    return mp3.read_bytes()


def decode_all(data: bytes, backend: str, monkeypatch: pytest.MonkeyPatch,
               batch: int = 8192) -> np.ndarray:
    monkeypatch.setenv(MP3_DECODER_ENV, backend)
    chunks: list[np.ndarray] = []
    errors: list[Exception] = []
    decoder = StreamDecoder("mp3", chunks.append, errors.append)
    assert decoder.backend == backend
    for i in range(0, len(data), batch):
        decoder.feed(data[i:i + batch])
    assert not errors
    return np.concatenate(chunks)


def at_400_hz(x: np.ndarray) -> np.ndarray:
    return soxr.resample(x, OUT_RATE_HZ, 400)


@pytest.mark.parametrize("rate", [44_100, 48_000, 22_050])
def test_same_400_hz_audio_as_libavcodec(tmp_path: Path, rate: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode_mp3(tmp_path, rate)
    ours = decode_all(data, "libmpg123", monkeypatch)
    theirs = decode_all(data, "libavcodec", monkeypatch)
    assert abs(ours.size - theirs.size) <= OUT_RATE_HZ // 10, (ours.size, theirs.size)
    n = min(ours.size, theirs.size)
    # Align on the best lag at 8 kHz (the decoders skip different encoder delays: up to a few
    # frames), then compare what the model sees: 400 Hz.
    spectrum = np.fft.rfft(theirs[:n], 2 * n) * np.conj(np.fft.rfft(ours[:n], 2 * n))
    xcorr = np.fft.irfft(spectrum)
    limit = OUT_RATE_HZ // 5  # ±200 ms
    lags = np.r_[0:limit, -limit:0]
    best = int(lags[np.argmax(np.r_[xcorr[:limit], xcorr[-limit:]])])
    a = at_400_hz(np.roll(ours[:n], best))[20:-20]
    b = at_400_hz(theirs[:n])[20:-20]
    corr = float(np.corrcoef(a, b)[0, 1])
    assert corr > 0.98, corr
    assert abs(np.sqrt(np.mean(a ** 2)) / np.sqrt(np.mean(b ** 2)) - 1) < 0.05


@pytest.mark.parametrize(("native", "reduction"), [(48_000, 2), (44_100, 2), (32_000, 2),
                                                  (24_000, 1), (22_050, 1), (16_000, 1),
                                                  (8_000, 0)])
def test_the_stream_rate_decides_the_reduction(tmp_path: Path, native: int,
                                               reduction: int) -> None:
    data = encode_mp3(tmp_path, native, seconds=2.0)
    stream = mpg123.Mpg123Stream(OUT_RATE_HZ)
    pcm = np.concatenate([stream.decode(data[i:i + 1000]) for i in range(0, len(data), 1000)])
    assert stream.down_sample == reduction
    assert stream.rate == native >> reduction >= OUT_RATE_HZ
    assert abs(pcm.size / stream.rate - 2.0) < 0.1


def test_junk_before_the_first_frame_and_one_byte_batches(tmp_path: Path) -> None:
    data = encode_mp3(tmp_path, 44_100, seconds=2.0)
    junk = bytes(range(256)) * 20  # a torn frame / stray bytes before the stream syncs
    stream = mpg123.Mpg123Stream(OUT_RATE_HZ)
    head = junk + data[:4000]
    pcm = [stream.decode(head[i:i + 1]) for i in range(len(head))]
    pcm.append(stream.decode(data[4000:]))
    total = np.concatenate(pcm)
    assert stream.rate == 11_025
    assert abs(total.size / stream.rate - 2.0) < 0.1
    assert np.isfinite(total).all() and 0.05 < float(np.abs(total).max()) < 1.5


def test_bytes_that_are_not_mp3_end_the_stream_with_a_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MP3_DECODER_ENV, raising=False)
    errors: list[Exception] = []
    decoder = StreamDecoder("mp3", lambda pcm: None, errors.append)
    text = b"<html><body>" + b"this station has moved " * 50 + b"</body></html>"
    for _ in range(300 * 1024 // len(text)):
        decoder.feed(text)
        if errors:
            break
    assert decoder.closed and errors
    assert "did not decode as mp3" in str(errors[0])


def test_without_the_library_mp3_decodes_with_libavcodec(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MP3_DECODER_ENV, raising=False)
    monkeypatch.setattr(mpg123, "_loaded", True)
    monkeypatch.setattr(mpg123, "_lib", None)
    chunks: list[np.ndarray] = []
    decoder = StreamDecoder("mp3", chunks.append, lambda exc: None)
    assert decoder.backend == "libavcodec"
    decoder.feed(encode_mp3(tmp_path, 44_100, seconds=1.0))
    assert sum(c.size for c in chunks) > 0.8 * OUT_RATE_HZ


def test_a_station_that_changes_its_sample_rate_plays_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """44.1 kHz, then 22.05 kHz (which has no output rate at 44.1 kHz's reduction), then
    44.1 kHz again: no error (it was "Unable to set up output format!" and a lost stream), and
    the audio of the three parts decoded one by one, no more (nothing doubled), hardly less
    (the frame torn at the switch)."""
    first, second = encode_mp3(tmp_path, 44_100, 3.0), encode_mp3(tmp_path, 22_050, 3.0)
    ours = decode_all(first + second + first, "libmpg123", monkeypatch)
    parts = sum(decode_all(part, "libmpg123", monkeypatch).size
                for part in (first, second, first))
    assert abs(ours.size - parts) <= OUT_RATE_HZ // 10, (ours.size, parts)
    assert np.isfinite(ours).all()
    # Each part keeps its level at 8 kHz: no part decoded at the wrong rate (that would move
    # its tones), none doubled.
    spectrum = np.abs(np.fft.rfft(ours[OUT_RATE_HZ * 4:OUT_RATE_HZ * 5]))
    peak_hz = np.argmax(spectrum[1:]) + 1
    assert abs(peak_hz - 170) < 3 or abs(peak_hz - 110) < 3, peak_hz
