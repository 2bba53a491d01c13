"""The wide model: its log-mel front end hears where a tone is, and its full int8 file runs in
the daemon's Classifier at 16 kHz like its float twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.model.card import ModelCard, file_sha256
from genrecast.daemon.model.classifier import Classifier
from genrecast.train.architectures import calibrate_int8_steps
from genrecast.train.fit import NORMALISATION
from genrecast.train.quantize import convert
from genrecast.train.wide import (
    MELS,
    WIDE_RATE_HZ,
    WIDE_WINDOW,
    build_back,
    build_front,
    features,
    frames,
    join,
    mel_matrix,
)

pytestmark = pytest.mark.slow


def _tone(freq_hz: float, n: int = 4) -> np.ndarray:
    t = np.arange(WIDE_WINDOW) / WIDE_RATE_HZ
    rng = np.random.default_rng(int(freq_hz))
    return np.stack([0.3 * np.sin(2 * np.pi * freq_hz * t + rng.random() * 6)
                     for _ in range(n)]).astype(np.float32)


def test_mel_filters_cover_the_band_in_order() -> None:
    w = mel_matrix()
    assert w.shape == (256, MELS)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-5)
    centres = (w * np.arange(256)[:, None]).sum(axis=0)
    assert (np.diff(centres) > 0).all()


def test_front_end_puts_a_tone_in_its_band_and_int8_matches_float(tmp_path: Path) -> None:
    front = build_front(input_scale=1.0 / NORMALISATION.target_rms)
    low, high = _tone(200.0), _tone(3000.0)
    windows = NORMALISATION.apply(np.concatenate([low, high]))
    calibrate_int8_steps(front, windows)
    patches = features(front, windows).astype(np.float32)
    assert patches.shape == (8, frames(), MELS)
    band_low, band_high = patches[:4].mean(axis=(0, 1)).argmax(), patches[4:].mean(
        axis=(0, 1)).argmax()
    assert band_low < band_high
    model = join(front, build_back(frames(), 2))
    path = tmp_path / "wide.tflite"
    path.write_bytes(convert(model, "int8", windows, 0))
    card = ModelCard(labels=("low", "high"), sample_rate_hz=WIDE_RATE_HZ,
                     window_samples=WIDE_WINDOW, normalisation=NORMALISATION,
                     model_sha256=file_sha256(path), quantization="int8")
    got = Classifier(path, card, probe=False, try_gpu=False).predict(np.concatenate([low, high]))
    want = model.predict(windows, verbose=0)
    assert got.shape == (8, 2)
    np.testing.assert_allclose(got, want, atol=0.1)
