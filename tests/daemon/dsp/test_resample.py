"""The streaming resampler: accurate, chunking-invariant, delay-compensated, at every supported rate."""

from __future__ import annotations

from math import gcd

import numpy as np
import pytest
from genrecast.daemon.dsp.resample import StreamingResampler, design_filter, resample
from genrecast.daemon.errors import UserError

MODEL_RATE_HZ = 400


def _tone_mix(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(seed)
    x = np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 120 * t)
    return (x + 0.1 * rng.standard_normal(t.size)).astype(np.float32)


def _polyphase_reference(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Direct (slow) evaluation of the same filter: upsample by zero stuffing, filter, decimate."""
    g = gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    taps = design_filter(up, down)
    stuffed = np.zeros(x.size * up)
    stuffed[::up] = x
    filtered = np.convolve(stuffed, taps)
    half = (taps.size - 1) // 2
    n_out = -(-x.size * up // down)
    return filtered[half : half + n_out * down : down][:n_out]


@pytest.mark.parametrize("rate", [8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000])
def test_matches_direct_filtering_and_keeps_length(rate: int) -> None:
    x = _tone_mix(rate, 2.0)
    y = resample(x, rate, MODEL_RATE_HZ)
    ref = _polyphase_reference(x.astype(np.float64), rate, MODEL_RATE_HZ)
    assert y.size == ref.size == 800
    np.testing.assert_allclose(y, ref, atol=2e-5)


@pytest.mark.parametrize("rate", [44_100, 48_000, 11_025])
def test_chunking_does_not_change_a_single_bit(rate: int) -> None:
    x = _tone_mix(rate, 3.0, seed=1)
    whole = resample(x, rate, MODEL_RATE_HZ)
    for chunk in (64, 1000, 4096, 1):
        if chunk == 1:
            x_part = x[: rate // 4]  # one frame at a time is slow: a quarter second is plenty
            expect = resample(x_part, rate, MODEL_RATE_HZ)
        else:
            x_part, expect = x, whole
        rs = StreamingResampler(rate, MODEL_RATE_HZ)
        parts = [rs.process(x_part[i : i + chunk]) for i in range(0, x_part.size, chunk)]
        parts.append(rs.flush())
        assert np.array_equal(np.concatenate(parts), expect), f"chunk {chunk} differs"


def test_output_is_aligned_with_input_time() -> None:
    """A click at t = 1.0 s comes out at output sample 400 (the filter delay is compensated)."""
    rate = 48_000
    x = np.zeros(rate * 2, dtype=np.float32)
    x[rate] = 1.0
    y = resample(x, rate, MODEL_RATE_HZ)
    assert int(np.argmax(y)) == 400


def test_passband_keeps_bass_and_rejects_aliases() -> None:
    rate = 48_000
    t = np.arange(rate * 4) / rate
    low = resample(np.sin(2 * np.pi * 60 * t).astype(np.float32), rate, MODEL_RATE_HZ)
    alias = resample(np.sin(2 * np.pi * 1_000 * t).astype(np.float32), rate, MODEL_RATE_HZ)
    core = slice(200, -200)
    assert np.sqrt(np.mean(low[core] ** 2)) == pytest.approx(np.sqrt(0.5), rel=0.01)
    assert np.sqrt(np.mean(alias[core] ** 2)) < 1e-3


@pytest.mark.parametrize("rate", [4_000, 400_000])
def test_rejects_rates_outside_the_supported_range(rate: int) -> None:
    with pytest.raises(UserError, match="outside the supported"):
        StreamingResampler(rate, MODEL_RATE_HZ)
