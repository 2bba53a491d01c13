"""Keras models: every one takes the raw (normalised) window and outputs class probabilities.

- ``seed``/``conv1d``: the seed's Conv1D stack on the waveform.
- ``conv2d`` (the default): a fixed-DFT spectrogram front-end inside the graph (convolution
  filters, so it converts to full int8), batch norm, then a Conv2D stack in the seeds' spirit.
  Trained with our recipe it scored 97.5% in int8 on held-out real tracks at every gain (against
  90.6% float / 86.8% int8 for gcnet-dual on the same split; README, "How good is the default model").
- ``mlp``: the seeds' dense baseline.
- ``gcnet``: batch-normalised Conv1D blocks, global average + max pooling and dropout;
  ``gcnet-dual`` adds a spectrogram view (it lost 3.8 points in full int8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from genrecast.daemon.errors import UserError

ARCHITECTURES = ("gcnet", "gcnet-dual", "conv1d", "conv2d", "mlp")
DEFAULT_ARCH = "conv2d"

# conv2d front-end: 128-sample frames (0.32 s at 400 Hz) every 16 samples, 64 frequency bins.
DFT_FRAME_SAMPLES = 128
DFT_HOP_SAMPLES = 16
DFT_BINS = 64
# Keras' default 0.99 leaves the moving variance near its initial 1.0 for hundreds of steps while
# the true variance of small normalised inputs is ~1e-4: inference then sees shrunken activations
# and predicts one class (measured: validation stuck at one class for 4 epochs). 0.9 converges fast.
BN_MOMENTUM = 0.9


def _keras() -> Any:
    import keras

    _register_layers(keras)
    return keras


_LAYERS: dict[str, Any] = {}


def _register_layers(keras: Any) -> None:
    """Element-wise layers of the spectrogram front-end, registered so a saved .keras file loads
    again (``genrecast quantize``); Lambda layers could not infer their shape when reloaded."""
    if _LAYERS:
        return

    @keras.saving.register_keras_serializable(package="genrecast")
    class Abs(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return keras.ops.abs(x)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    @keras.saving.register_keras_serializable(package="genrecast")
    class CompressSqrt(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return keras.ops.sqrt(x + 1e-6)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    _LAYERS.update(Abs=Abs, CompressSqrt=CompressSqrt)


def load_keras_model(path: Any) -> Any:
    """A .keras file written by genrecast train."""
    keras = _keras()
    return keras.saving.load_model(path, safe_mode=False)


def build_conv1d(window: int, n_classes: int, seed_head: bool = False) -> Any:
    """The seed's network; ``seed_head`` keeps its sigmoid output (trained with MSE)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((window,), name="window")
    x = L.Reshape((window, 1))(inp)
    for filters, kernel, stride in ((32, 31, 4), (32, 31, 3), (48, 15, 2), (48, 15, 2)):
        x = L.Conv1D(filters, kernel, strides=stride, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(64, activation="relu")(x)
    out = L.Dense(n_classes, activation="sigmoid" if seed_head else "softmax")(x)
    return keras.Model(inp, out, name="seed_conv1d" if seed_head else "conv1d")


def build_mlp(window: int, n_classes: int) -> Any:
    keras = _keras()
    L = keras.layers
    inp = keras.Input((window,), name="window")
    x = L.Dense(256, activation="relu")(inp)
    x = L.Dropout(0.3)(x)
    x = L.Dense(128, activation="relu")(x)
    x = L.Dense(64, activation="relu")(x)
    out = L.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out, name="mlp")


def dft_kernels(frame: int, bins: int) -> np.ndarray:
    """Hann-windowed real DFT as Conv1D weights (frame, 1, 2·bins): cosines then sines."""
    n = np.arange(frame)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / frame)
    k = np.arange(bins)[None, :] * frame / (2 * bins)  # bins spread over 0..Nyquist
    phase = 2 * np.pi * n[:, None] * k / frame
    w = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * hann[:, None]
    return (w / np.sqrt(frame)).astype(np.float32)[:, None, :]


def spectrogram(x: Any) -> Any:
    """(batch, window, 1) → (batch, frames, DFT_BINS) compressed magnitudes, from int8-friendly
    ops: a fixed DFT as convolution filters, |re| + |im| (an L1 magnitude), a fixed 0/1 sum, a
    square root.

    Why not re² + im²: full int8 gives every tensor one scale, so a power spectrum keeps only
    ~24 dB of range in magnitude terms (quiet bins round to zero); it cost 2.8 points of accuracy
    against float32 (benchmarks/accuracy.py, seed 0). Magnitudes keep ~42 dB.
    """
    keras = _keras()
    L = keras.layers
    dft = L.Conv1D(2 * DFT_BINS, DFT_FRAME_SAMPLES, strides=DFT_HOP_SAMPLES, padding="valid",
                   use_bias=False, trainable=False, name="fixed_dft")
    x = dft(x)
    dft.set_weights([dft_kernels(DFT_FRAME_SAMPLES, DFT_BINS)])
    x = _LAYERS["Abs"](name="abs")(x)
    pair = np.concatenate([np.eye(DFT_BINS), np.eye(DFT_BINS)], axis=0).astype(np.float32)
    magnitude = L.Dense(DFT_BINS, use_bias=False, trainable=False, name="magnitude")
    x = magnitude(x)
    magnitude.set_weights([pair])
    return _LAYERS["CompressSqrt"](name="compress")(x)


def build_conv2d(window: int, n_classes: int, input_scale: float = 1.0) -> Any:
    keras = _keras()
    L = keras.layers
    inp = keras.Input((window,), name="window")
    x = L.Rescaling(input_scale)(inp)
    x = spectrogram(L.Reshape((window, 1))(x))
    x = L.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = L.Reshape((-1, DFT_BINS, 1))(x)
    for filters in (32, 32, 64, 128):
        x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
    x = L.Dropout(0.5)(x)
    x = L.Flatten()(x)
    x = L.Dense(128, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(64, activation="relu")(x)
    out = L.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out, name="conv2d")


def build_gcnet(window: int, n_classes: int, input_scale: float = 1.0,
                dual: bool = False) -> Any:
    keras = _keras()
    L = keras.layers
    inp = keras.Input((window,), name="window")
    scaled = L.Rescaling(input_scale)(inp)
    x = L.Reshape((window, 1))(scaled)
    for filters, kernel, stride in ((32, 31, 4), (48, 15, 2), (64, 9, 2), (96, 9, 2)):
        x = L.Conv1D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = L.ReLU()(x)
    wave = L.Concatenate()([L.GlobalAveragePooling1D()(x), L.GlobalMaxPooling1D()(x)])
    if not dual:
        x = L.Dropout(0.3)(wave)
    else:
        # Second view: the fixed-DFT spectrogram, a small batch-normalised Conv2D stack.
        s = L.BatchNormalization(momentum=BN_MOMENTUM)(spectrogram(L.Reshape((window, 1))(scaled)))
        s = L.Reshape((-1, DFT_BINS, 1))(s)
        for filters in (16, 32, 48):
            s = L.Conv2D(filters, 3, padding="same", use_bias=False)(s)
            s = L.BatchNormalization(momentum=BN_MOMENTUM)(s)
            s = L.ReLU()(s)
            s = L.MaxPooling2D(2)(s)
        spec = L.Concatenate()([L.GlobalAveragePooling2D()(s), L.GlobalMaxPooling2D()(s)])
        x = L.Dropout(0.3)(L.Concatenate()([wave, spec]))
    x = L.Dense(64, activation="relu")(x)
    x = L.Dropout(0.3)(x)
    out = L.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out, name="gcnet-dual" if dual else "gcnet")


def build_model(arch: str, window: int, n_classes: int, seed_recipe: bool = False,
                input_scale: float = 1.0) -> Any:
    """``input_scale`` (a fixed in-graph multiply) brings normalised windows to unit RMS, so batch
    norm's moving statistics start near the truth (see BN_MOMENTUM)."""
    if arch == "conv1d":
        return build_conv1d(window, n_classes, seed_head=seed_recipe)
    if arch == "conv2d":
        return build_conv2d(window, n_classes, input_scale)
    if arch == "mlp":
        return build_mlp(window, n_classes)
    if arch == "gcnet":
        return build_gcnet(window, n_classes, input_scale)
    if arch == "gcnet-dual":
        return build_gcnet(window, n_classes, input_scale, dual=True)
    raise UserError(f"unknown --arch '{arch}'; choose one of {', '.join(ARCHITECTURES)}")
