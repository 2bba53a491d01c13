"""The wake arithmetic: ``SourceDSP`` says how many source frames complete the next window, and
the loop sleeps until then. Pushing one frame less must complete nothing; the exact count must
complete a window, at every device rate and hop, window after window."""

from __future__ import annotations

import numpy as np
import pytest
from genrecast.daemon.dsp.chain import SourceDSP

MODEL_RATE_HZ = 400
WINDOW = 1200


@pytest.mark.parametrize("rate_in", [400, 8_000, 22_050, 44_100, 48_000, 96_000])
@pytest.mark.parametrize("hop", [40, 200, 1200, 2000])
def test_frames_for_next_window_is_exact(rate_in: int, hop: int) -> None:
    dsp = SourceDSP(rate_in, MODEL_RATE_HZ, WINDOW, hop)
    rng = np.random.default_rng(rate_in + hop)
    pushed = 0
    for _ in range(4):  # four windows in a row, each reached exactly
        need = dsp.frames_for_next_window() - pushed
        assert need > 0
        assert not dsp.completes_window(need - 1)
        assert dsp.completes_window(need)
        if need > 1:
            assert dsp.push(rng.standard_normal(need - 1).astype(np.float32)) == []
        got = dsp.push(rng.standard_normal(1).astype(np.float32))
        assert len(got) == 1, (rate_in, hop, pushed)
        pushed += need


def test_completes_window_counts_frames_already_pushed() -> None:
    dsp = SourceDSP(48_000, MODEL_RATE_HZ, WINDOW, 200)
    need = dsp.frames_for_next_window()
    dsp.push(np.zeros(need // 2, dtype=np.float32))
    assert not dsp.completes_window(need - need // 2 - 1)
    assert dsp.completes_window(need - need // 2)
