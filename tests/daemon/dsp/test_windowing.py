"""The windower: windows every hop, identical however the samples arrive."""

from __future__ import annotations

import numpy as np
import pytest
from genrecast.daemon.dsp.chain import SourceDSP, audio_to_windows, downmix
from genrecast.daemon.dsp.windowing import Windower


def test_windows_start_every_hop_and_hold_the_right_samples() -> None:
    x = np.arange(1000, dtype=np.float32)
    starts, wins = audio_to_windows(x, 400, 400, window=300, hop=100)
    assert starts.tolist() == list(range(0, 701, 100))
    for s, w in zip(starts, wins, strict=True):
        assert np.array_equal(w, x[s : s + 300])


def test_too_short_signal_gives_no_window() -> None:
    starts, wins = audio_to_windows(np.zeros(299, dtype=np.float32), 400, 400,
                                   window=300, hop=100)
    assert starts.size == 0 and wins.shape == (0, 300)


@pytest.mark.parametrize("hop", [50, 300, 450])
def test_arbitrary_pushes_give_the_same_windows(hop: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5000).astype(np.float32)
    ref_starts, ref = audio_to_windows(x, 400, 400, 300, hop)
    w = Windower(300, hop)
    got = []
    i = 0
    while i < x.size:
        n = int(rng.integers(1, 700))
        got += w.push(x[i : i + n])
        i += n
    assert [s for s, _ in got] == ref_starts.tolist()
    assert np.array_equal(np.stack([g for _, g in got]), ref)


def test_streaming_dsp_equals_whole_file_dsp() -> None:
    rate = 44_100
    rng = np.random.default_rng(4)
    stereo = rng.standard_normal((rate * 5, 2)).astype(np.float32) * 0.1
    starts, wins = audio_to_windows(stereo, rate, 400, 1200, 200)
    dsp = SourceDSP(rate, 400, 1200, 200)
    got = []
    for i in range(0, stereo.shape[0], 4096):
        got += dsp.push(stereo[i : i + 4096])
    got += dsp.flush()
    assert [s for s, _ in got] == starts.tolist()
    assert np.array_equal(np.stack([g for _, g in got]), wins)


def test_stereo_downmix_equals_the_mean_bit_for_bit() -> None:
    """The fast stereo path (one add, one halving) gives exactly numpy's mean over the channels."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((200_000, 2)) * rng.uniform(1e-6, 10, (200_000, 2))).astype(np.float32)
    x[:10] = [[1.0, -1.0], [3.4e38, 3.4e38], [1e-45, 1e-45], [-0.5, 0.25], [0, 0], [1, 1e-8],
              [-1e-40, 2e-40], [0.1, 0.2], [65504, 1], [-3.4e38, -3.4e38]]
    with np.errstate(over="ignore"):
        expected = x.mean(axis=1, dtype=np.float32)
        got = downmix(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
