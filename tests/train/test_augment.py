"""The production augmentation changes what it claims (tilt, band limit, dynamics); package
weights give every package of a genre the same weight."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy")

from genrecast.train import augment as A  # noqa: E402
from genrecast.train.fit import package_weights  # noqa: E402

RATE_HZ = 400


def band_power(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    f = np.fft.rfftfreq(x.shape[-1], 1 / RATE_HZ)
    p = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    return float(p[..., (f >= lo_hz) & (f < hi_hz)].sum())


def test_tilt_moves_power_between_low_and_high_bands() -> None:
    x = np.random.default_rng(0).standard_normal((1, 1200))
    up = A.equalise(x, np.array([4.0]), None, RATE_HZ)
    down = A.equalise(x, np.array([-4.0]), None, RATE_HZ)
    ratio = lambda y: band_power(y, 100, 200) / band_power(y, 6, 25)  # noqa: E731
    # 100..200 Hz lies 1..2 octaves above 6..25 Hz less than the flat part: about +-12..20 dB
    assert ratio(up) > 10 * ratio(x) > 100 * ratio(down)
    np.testing.assert_allclose(A.equalise(x, np.array([0.0]), None, RATE_HZ), x, atol=1e-12)


def test_lowpass_removes_the_band_above_its_cutoff() -> None:
    x = np.random.default_rng(1).standard_normal((1, 1200))
    y = A.equalise(x, np.array([0.0]), np.array([60.0]), RATE_HZ)
    assert band_power(y, 150, 200) < 0.03 * band_power(x, 150, 200)  # 2nd order: -12 dB/octave
    assert band_power(y, 5, 30) > 0.9 * band_power(x, 5, 30)


def test_compression_narrows_the_loudness_range_and_keeps_the_rms() -> None:
    t = np.arange(1200)
    x = np.sin(2 * np.pi * 50 * t / RATE_HZ) * np.where(t < 600, 1.0, 0.05)  # loud, then quiet
    y = A.compress(x[None, :], np.array([8.0]), np.array([-30.0]), RATE_HZ)[0]
    before = np.std(x[:500]) / np.std(x[700:])
    after = np.std(y[:500]) / np.std(y[700:])
    assert after < before / 3
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-6)


def test_the_default_preset_is_the_microphone_one_and_production_differs() -> None:
    x = np.random.default_rng(2).standard_normal((64, 1200)) * 0.1
    y = np.repeat([0, 1], 32)
    a = A.augment(x, y, RATE_HZ, np.random.default_rng(5), A.MICROPHONE)
    b = A.augment(x, y, RATE_HZ, np.random.default_rng(5), A.PRODUCTION)
    assert A.AugmentConfig() == A.MICROPHONE
    assert not np.allclose(a, b)


def test_package_weights_equalise_packages_within_a_genre() -> None:
    y = np.array([0] * 30 + [1] * 4)
    packages = np.array(["big"] * 27 + ["small"] * 3 + ["only"] * 4)
    w = package_weights(y, packages)
    assert w[packages == "big"].sum() == pytest.approx(w[packages == "small"].sum())
    assert w[y == 0].sum() == pytest.approx(30)  # each genre keeps its total
    np.testing.assert_allclose(w[y == 1], 1.0)  # a genre of one package is unchanged
