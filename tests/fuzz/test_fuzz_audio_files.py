"""Audio files from anywhere: zero length, truncated, bit-flipped, wrong extension, 1-8 channels,
8-192 kHz. ``read_audio`` and ``iter_audio_blocks`` (the file source) give finite samples or one
UserError line (DataError/InputNotFound); never a traceback, never NaN."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf
from genrecast.daemon.audio.decode import MAX_ABS_SAMPLE, iter_audio_blocks, read_audio
from genrecast.daemon.errors import DataError, UserError

from .conftest import budget
from .mutate import mutate

RATES_HZ = (8_000, 11_025, 22_050, 44_100, 48_000, 96_000, 192_000)
FORMATS = (("WAV", "PCM_16", ".wav"), ("WAV", "FLOAT", ".wav"), ("FLAC", "PCM_16", ".flac"),
           ("OGG", "VORBIS", ".ogg"), ("AIFF", "PCM_24", ".aiff"))
EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".txt", "")


def _encode(rng: np.random.Generator, fmt: tuple[str, str, str], rate: int, channels: int,
            frames: int) -> bytes:
    x = (0.3 * rng.standard_normal((frames, channels))).clip(-1, 1).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt[0], subtype=fmt[1])
    return buf.getvalue()


def _check(path: Path) -> str:
    """read_audio and the block iterator agree on the contract; returns the outcome."""
    try:
        data, rate = read_audio(path)
    except UserError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc), repr(str(exc))
        outcome = "error"
    else:
        assert data.ndim == 2 and data.shape[0] > 0 and rate > 0
        assert np.isfinite(data).all() and np.abs(data).max() <= MAX_ABS_SAMPLE
        outcome = "audio"
    try:
        rate, channels, blocks = iter_audio_blocks(path, 4096)
        for block in blocks:
            assert block.shape[1] == channels and np.isfinite(block).all()
    except UserError as exc:
        assert "\n" not in str(exc)
    return outcome


def test_generated_and_damaged_files(tmp_path: Path, fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    outcomes = {"audio": 0, "error": 0}
    for case in range(budget(100)):
        fmt = FORMATS[case % len(FORMATS)]
        rate = int(rng.choice(RATES_HZ))
        channels = int(rng.integers(1, 9))
        if fmt[0] == "OGG":
            rate = min(rate, 48_000)  # libvorbis' limit
        frames = int(rng.choice([0, 1, 100, int(rng.integers(1, rate // 4))]))
        raw = _encode(rng, fmt, rate, channels, frames)
        damage = case % 4
        if damage == 1:  # truncated anywhere
            raw = raw[: int(rng.integers(0, len(raw) + 1))]
        elif damage == 2:  # bit flips and splices
            raw = mutate(raw, rng, rounds=3)
        ext = fmt[2] if damage != 3 else EXTENSIONS[int(rng.integers(0, len(EXTENSIONS)))]
        path = tmp_path / f"case{case}{ext}"
        path.write_bytes(raw)
        outcomes[_check(path)] += 1
        path.unlink()
        fuzz_count()
    assert outcomes["audio"] > 0 and outcomes["error"] > 0, outcomes


def test_float_file_with_absurd_samples_is_refused(tmp_path: Path,
                                                   fuzz_count) -> None:  # type: ignore[no-untyped-def]
    """A float WAV of finite garbage used to overflow the downmix into NaN (then the daemon's
    events could not be encoded)."""
    for peak in (3.0e38, 1.0e6, -2000.0):
        path = tmp_path / "garbage.wav"
        x = np.full((48_000, 2), peak, dtype=np.float32)
        sf.write(path, x, 48_000, subtype="FLOAT")
        try:
            read_audio(path)
        except DataError as exc:
            assert "beyond" in str(exc)
        else:
            raise AssertionError(f"samples of {peak:g} accepted")
        fuzz_count()


def test_random_bytes_as_files(tmp_path: Path, fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(6)
    for case in range(budget(15)):
        path = tmp_path / f"noise{case}{EXTENSIONS[case % len(EXTENSIONS)]}"
        path.write_bytes(bytes(rng.integers(0, 256, int(rng.integers(0, 4000)), dtype=np.uint8)))
        assert _check(path) == "error" or path.suffix in (".mp3", "")  # raw mp3 frames may decode
        fuzz_count()
