"""The per-window fast paths give exactly what the plain versions give: the cached timestamp
formatter against datetime, the ring-array moving average against a mean over the last rows."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from genrecast.daemon.engine.smoothing import Smoother
from genrecast.daemon.settings import DecisionSettings
from genrecast.daemon.wire.events import utc_iso
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.floats(0, 4e9), st.integers(0, 2**32).map(lambda s: s + 0.9999995),
                 st.integers(0, 2**32).map(lambda s: s + 5e-7)))
def test_utc_iso_is_datetimes_format(epoch_s: float) -> None:
    want = datetime.fromtimestamp(epoch_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert utc_iso(epoch_s) == want


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.floats(0, 1), st.booleans()), max_size=40))
def test_moving_average_is_the_mean_of_the_last_windows(n: int, seq: list) -> None:
    smoother = Smoother(("a", "b"), DecisionSettings(smooth_windows=n, threshold=0.99,
                                                      min_windows=100))
    kept: list[np.ndarray] = []
    for i, (p, silent) in enumerate(seq):
        probs = np.array([p, 1 - p], dtype=np.float32)
        d = smoother.update(probs, -90.0 if silent else -20.0, float(i))
        if silent:
            assert not d.smoothed.any()
            continue
        kept = (kept + [probs.astype(np.float64)])[-n:]
        np.testing.assert_allclose(d.smoothed, np.mean(kept, axis=0), rtol=1e-6, atol=1e-7)
