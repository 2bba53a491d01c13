"""Small real audio files and npz datasets for the training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def tone_file(path: Path, rate: int, seconds: float, channels: int, freq_hz: float,
              fmt: str | None = None, subtype: str | None = None, level: float = 0.3) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    mono = level * np.sin(2 * np.pi * freq_hz * t)
    data = np.stack([mono * (1 - 0.2 * c) for c in range(channels)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), rate, format=fmt, subtype=subtype)
    return path


@pytest.fixture
def genre_folder(tmp_path: Path) -> Path:
    """Two genres × 3 tracks, mixing wav/ogg, 44.1/48 kHz, mono/stereo."""
    root = tmp_path / "music"
    specs = [("classical", 44_100, 1, "wav"), ("classical", 48_000, 2, "ogg"),
             ("classical", 44_100, 2, "wav"), ("rock", 48_000, 1, "wav"),
             ("rock", 44_100, 2, "ogg"), ("rock", 48_000, 2, "wav")]
    for i, (genre, rate, ch, ext) in enumerate(specs):
        freq = 60.0 + 7 * i if genre == "classical" else 120.0 + 9 * i
        tone_file(root / genre / f"t{i}.{ext}", rate, 8.0, ch, freq)
    return root


def write_npz(path: Path, n: int = 40, window: int = 1200, **override: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"train": rng.standard_normal((n, window)).astype(np.float32) * 0.1,
              "test": rng.standard_normal((n // 2, window)).astype(np.float32) * 0.1}
    arrays.update(override)
    np.savez(path, **arrays)
    return path
