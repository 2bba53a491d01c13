"""The spectrogram front-end computes what a plain strided STFT computes, and its int8 simulation
rounds to the grid conversion will use only while training."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from genrecast.train import architectures as A  # noqa: E402


def reference_spectrogram(x: np.ndarray, hop: int, pool: int = 1) -> np.ndarray:
    """sqrt(|re| + |im|) of a Hann-windowed DFT, frame by frame, straight from the definition;
    ``pool``: |re| + |im| averaged over each run of that many frames first."""
    frame, bins = A.DFT_FRAME_SAMPLES, A.DFT_BINS
    n = np.arange(frame)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / frame)
    out = []
    for start in range(0, x.shape[-1] - frame + 1, hop):
        seg = x[start:start + frame] * hann
        spec = np.fft.rfft(seg)[:bins] / np.sqrt(frame)  # bin k at k cycles per frame
        out.append(np.abs(spec.real) + np.abs(spec.imag))
    mag = np.array(out)
    runs = mag.shape[0] // pool
    return np.sqrt(mag[: runs * pool].reshape(runs, pool, -1).mean(axis=1) + 1e-6)


@pytest.mark.parametrize("hop", [A.DFT_HOP_SAMPLES, A.SPECNET_HOP_SAMPLES])
def test_blocked_dft_is_the_strided_stft(hop: int) -> None:
    keras = A._keras()
    inp = keras.Input((1200,))
    model = keras.Model(inp, A.spectrogram(inp, 1200, hop))
    x = np.random.default_rng(0).normal(0, 1, (2, 1200)).astype(np.float32)
    got = model.predict(x, verbose=0)
    for row in range(2):
        want = reference_spectrogram(x[row].astype(np.float64), hop)
        assert got[row].shape == want.shape
        np.testing.assert_allclose(got[row], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rate", [2000, 8000])
def test_wider_band_front_end_averages_frames_to_the_400_hz_frame_count(rate: int) -> None:
    keras = A._keras()
    window = 3 * rate
    inp = keras.Input((window,))
    model = keras.Model(inp, A.spectrogram(inp, window, A.SPECNET_HOP_SAMPLES,
                                           A.frame_pool(rate)))
    x = np.random.default_rng(3).normal(0, 1, (1, window)).astype(np.float32)
    got = model.predict(x, verbose=0)[0]
    want = reference_spectrogram(x[0].astype(np.float64), A.SPECNET_HOP_SAMPLES, rate // 400)
    assert got.shape == want.shape
    assert abs(got.shape[0] - 34) <= 3  # about the frames the 400 Hz model sees
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_spectrogram_models_refuse_a_rate_that_is_not_a_multiple_of_400() -> None:
    from genrecast.daemon.errors import UserError

    with pytest.raises(UserError, match="multiple of 400"):
        A.build_model("specnet", 3 * 1000, 2, rate_hz=1000)


def test_int8_simulation_rounds_except_when_converting_to_int8() -> None:
    keras = A._keras()
    model = A.build_model("specnet", 1200, 2, input_scale=10.0)
    x = np.random.default_rng(1).normal(0, 0.1, (16, 1200)).astype(np.float32)
    steps = A.calibrate_int8_steps(model, x)
    assert set(steps) == {"int8_dft", "int8_magnitude", "int8_compress"}
    layer = model.get_layer("int8_dft")
    raw = np.asarray(keras.Model(model.inputs[0], layer.input)(x))
    assert steps["int8_dft"] == pytest.approx((raw.max() - min(raw.min(), 0)) / 255, rel=1e-5)
    rounded = np.asarray(layer(raw))
    np.testing.assert_allclose(rounded / steps["int8_dft"], np.round(raw / steps["int8_dft"]),
                               atol=1e-3)
    assert np.abs(rounded - raw).max() > 0  # it did round
    layer.bypass = True
    np.testing.assert_array_equal(np.asarray(layer(raw)), raw)


def test_float_export_is_the_rounded_network_and_int8_converts() -> None:
    from ai_edge_litert.interpreter import Interpreter
    from genrecast.train.quantize import convert

    model = A.build_model("specnet", 1200, 2, input_scale=10.0)
    x = np.random.default_rng(2).normal(0, 0.1, (8, 1200)).astype(np.float32)
    A.calibrate_int8_steps(model, x)
    for mode in ("float32", "int8"):
        interp = Interpreter(model_content=convert(model, mode, x))
        ops = {op["op_name"] for op in interp._get_ops_details()}
        assert ("ROUND" in ops) == (mode == "float32"), (mode, sorted(ops))
    assert not any(layer.bypass for layer in A.int8_simulations(model))


def test_spectral_norm_takes_out_each_windows_mean_spectrum() -> None:
    """A window and the same window through a different EQ differ less after the layer."""
    keras = A._keras()
    model = A.build_model("specnet", 1200, 2, input_scale=10.0, spectral_norm=True)
    layer = model.get_layer("spectral_norm")
    probe = keras.Model(model.inputs[0], [layer.input, layer.output])
    x = np.random.default_rng(4).normal(0, 0.1, (4, 1200)).astype(np.float32)
    before, after = (np.asarray(a) for a in probe(x))
    np.testing.assert_allclose(after.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(after, before - before.mean(axis=1, keepdims=True), atol=1e-5)
    with pytest.raises(Exception, match="specnet only"):
        A.build_model("conv2d", 1200, 2, spectral_norm=True)
