"""Raw PCM as it arrives on stdin: any bytes, any chunking, any sample values.

Each case builds a byte stream (s16le or f32le, 1-8 channels, 8-192 kHz, odd byte counts,
NaN/Inf, denormals, full-scale square waves, DC offset, extreme values), cuts it into random
chunks and runs it through the daemon's own path: ``PcmDecoder`` → ``SourceDSP`` (downmix,
resample, window) → ``Classifier.predict`` → ``Smoother``. The contract: finite probabilities
for every window, or one DataError line (non-finite samples, stray bytes at the end), and the
error is raised exactly when the input deserves it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from genrecast.daemon.audio.decode import MAX_ABS_SAMPLE
from genrecast.daemon.audio.sources.pcm import PcmDecoder
from genrecast.daemon.dsp.chain import SourceDSP
from genrecast.daemon.engine.smoothing import Smoother, rms_dbfs
from genrecast.daemon.errors import DataError
from genrecast.daemon.model.classifier import Classifier
from genrecast.daemon.settings import DecisionSettings

from tests.support.common import TONE_MODEL

from .conftest import budget

MODEL = TONE_MODEL
RATES_HZ = (8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000)
SIGNALS = ("noise", "square", "dc", "denormal", "silence", "extreme", "nan", "inf")


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(MODEL, try_gpu=False)


def _signal(kind: str, n: int, channels: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n)[:, None] / rate
    if kind == "noise":
        x = rng.standard_normal((n, channels)) * rng.uniform(0.001, 2.0)
    elif kind == "square":  # full scale (clipping when s16le)
        x = np.sign(np.sin(2 * np.pi * rng.uniform(20, 4000) * t)) * np.ones((1, channels))
    elif kind == "dc":
        x = rng.uniform(-1, 1) + 0.01 * np.sin(2 * np.pi * 100 * t) * np.ones((1, channels))
    elif kind == "denormal":
        x = rng.choice([1e-40, -1e-40, 1e-45, 0.0], size=(n, channels))
    elif kind == "silence":
        x = np.zeros((n, channels))
    elif kind == "extreme":  # loud but sane floats (+54 dBFS), or huge finite garbage
        peak = 500.0 if rng.integers(0, 2) else 3.0e38
        x = rng.choice([peak, -peak, 1.0, -1.0], size=(n, channels))
    else:
        x = rng.standard_normal((n, channels)) * 0.1
        if n:
            bad = np.nan if kind == "nan" else rng.choice([np.inf, -np.inf])
            x[int(rng.integers(0, n)), int(rng.integers(0, channels))] = bad
    return x


def _encode(x: np.ndarray, fmt: str) -> bytes:
    if fmt == "f32le":
        with np.errstate(over="ignore"):
            return x.astype("<f4").tobytes()
    return (np.clip(np.nan_to_num(x, posinf=1.0, neginf=-1.0), -1.0, 1.0) * 32767).astype(
        "<i2").tobytes()


def test_pcm_streams_through_the_daemon_path(classifier: Classifier,
                                             fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    card = classifier.card
    decisions = DecisionSettings()
    hop = round(decisions.hop_s * card.sample_rate_hz)
    outcomes = {"windows": 0, "errors": 0}
    for case in range(budget(800)):
        fmt = ("s16le", "f32le")[case % 2]
        channels = int(rng.integers(1, 9))
        rate = int(rng.choice(RATES_HZ))
        kind = SIGNALS[int(rng.integers(0, len(SIGNALS)))]
        # Mostly short streams (decoder and resampler state); every 8th long enough for windows.
        seconds = rng.uniform(3.2, 4.5) if case % 8 == 0 else rng.uniform(0, 0.2)
        if case % 8 == 0 and rate > 48_000:
            channels = min(channels, 2)
        x = _signal(kind, int(seconds * rate), channels, rate, rng)
        raw = _encode(x, fmt)
        stray = int(rng.integers(0, 4)) if case % 3 == 0 else 0
        raw += bytes(rng.integers(0, 256, stray, dtype=np.uint8))
        decoder = PcmDecoder(fmt, channels, "stdin")
        dsp = SourceDSP(rate, card.sample_rate_hz, card.window_samples, hop)
        smoother = Smoother(card.labels, decisions)
        with np.errstate(over="ignore"):
            as_f32 = x.astype(np.float32)
        # f32le: NaN/Inf, and finite floats beyond ±1000 (misread data, which used to overflow
        # the downmix into NaN events and kill the daemon), are refused with a DataError.
        insane = x.size > 0 and not (np.isfinite(as_f32).all()
                                     and np.abs(as_f32).max() <= MAX_ABS_SAMPLE)
        expect_error = (fmt == "f32le" and insane) or (len(raw) % decoder.frame_bytes) != 0
        windows = []
        try:
            pos = 0
            while pos < len(raw):
                size = int(rng.integers(1, 70_000))
                frames = decoder.decode(raw[pos : pos + size])
                pos += size
                assert frames.dtype == np.float32 and frames.shape[1] == channels
                windows += [w for _, w in dsp.push(frames)]
            decoder.finish()
            windows += [w for _, w in dsp.flush()]
        except DataError as exc:
            assert expect_error, f"case {case}: unexpected {exc}"
            assert "\n" not in str(exc) and ("stdin" in str(exc))
            outcomes["errors"] += 1
            fuzz_count()
            continue
        assert not expect_error, f"case {case}: {kind} {fmt} accepted without an error"
        if windows:
            batch = np.stack(windows)
            assert np.isfinite(batch).all(), f"case {case}: non-finite window from {kind}"
            probs = classifier.predict(batch)
            assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1, atol=1e-3)
            for w, p in zip(batch, probs, strict=True):
                level = rms_dbfs(w)
                assert not math.isnan(level)
                smoother.update(p, level, 0.0)
            outcomes["windows"] += len(windows)
        fuzz_count()
    # The generator must reach both outcomes, or the test proves less than it claims.
    assert outcomes["windows"] > 0 and outcomes["errors"] > 0, outcomes
