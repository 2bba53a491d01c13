"""Keras models: every one takes the raw (normalised) window and outputs class probabilities.

- ``seed``/``conv1d``: the seed's Conv1D stack on the waveform.
- ``conv2d`` (the default): a fixed-DFT spectrogram front-end inside the graph (convolution
  filters, so it converts to full int8; trained on the int8 grid it will run on, see
  calibrate_int8_steps), batch norm, then the seeds' Conv2D stack (32, 32, 64, 128 filters).
  Its int8 matched or beat its float32 export on every seed (README, "How good is the default
  model").
- ``specnet``: the same front-end at half the frame rate and a small batch-normalised Conv2D
  stack: a fifth of conv2d's cost per window, for hosts with many streams. Within a point of
  conv2d on the full training split, but its int8 lost up to 2.9 points against float32 on the
  short benchmark runs.
- ``mlp``: the seeds' dense baseline.
- ``gcnet``: batch-normalised Conv1D blocks, global average + max pooling and dropout;
  ``gcnet-dual`` adds a spectrogram view (it lost 3.8 points in full int8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from genrecast.daemon.errors import UserError

ARCHITECTURES = ("conv2d", "specnet", "conv1d", "mlp", "gcnet", "gcnet-dual")
DEFAULT_ARCH = "conv2d"

# conv2d front-end: 128-sample frames (0.32 s at 400 Hz) every 16 samples, 64 frequency bins.
DFT_FRAME_SAMPLES = 128
DFT_HOP_SAMPLES = 16
DFT_BINS = 64
SPECNET_HOP_SAMPLES = 32  # 34 frames: half of conv2d's, and half the work of every layer after it
SPECNET_FILTERS = (8, 16, 32, 48)
# The front-end's geometry is set at 400 Hz. At a higher model rate (``rate_hz``, a multiple of it)
# the DFT frames stay 128 samples (shorter in time, so the 64 bins span the wider band) and the
# magnitudes of every ``rate_hz / BASE_RATE_HZ`` consecutive frames are averaged: the layers after
# the front-end see as many frames per window as at 400 Hz, so they cost the same.
BASE_RATE_HZ = 400
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

    @keras.saving.register_keras_serializable(package="genrecast")
    class SimulateInt8(keras.layers.Layer):
        """Rounds to the int8 grid that full-int8 conversion will give this tensor (``step``, set
        by calibrate_int8_steps), in training, validation and the float exports alike, so every
        file is the network that was trained. ``bypass`` (identity) is set only while converting
        to int8, where the converter's own quantization takes its place."""

        def __init__(self, step: float = 0.0, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.step = float(step)
            self.bypass = False

        def call(self, x: Any) -> Any:
            if self.bypass or self.step <= 0:
                return x
            return keras.ops.round(x / self.step) * self.step

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "step": self.step}

    @keras.saving.register_keras_serializable(package="genrecast")
    class L1Magnitude(keras.layers.Layer):
        """(…, 2·bins) real and imaginary parts → (…, bins) |re| + |im|."""

        def call(self, x: Any) -> Any:
            half = x.shape[-1] // 2
            return keras.ops.abs(x[..., :half]) + keras.ops.abs(x[..., half:])

        def compute_output_shape(self, input_shape: Any) -> Any:
            return (*input_shape[:-1], input_shape[-1] // 2)

    @keras.saving.register_keras_serializable(package="genrecast")
    class Log(keras.layers.Layer):
        """Natural logarithm (the wide model's log-mel; full int8 has a LOG kernel)."""

        def call(self, x: Any) -> Any:
            return keras.ops.log(x)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    @keras.saving.register_keras_serializable(package="genrecast")
    class KeepFirst(keras.layers.Layer):
        """(batch, n) → (batch, keep): the first ``keep`` samples."""

        def __init__(self, keep: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.keep = int(keep)

        def call(self, x: Any) -> Any:
            return x[:, : self.keep]

        def compute_output_shape(self, input_shape: Any) -> Any:
            return (input_shape[0], self.keep)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "keep": self.keep}

    @keras.saving.register_keras_serializable(package="genrecast")
    class SubtractTimeMean(keras.layers.Layer):
        """(batch, frames, bins) minus its mean over frames: each window's own average spectrum
        (its long-term EQ, the mastering) taken out, bin by bin; what changes within the window
        stays."""

        def call(self, x: Any) -> Any:
            return x - keras.ops.mean(x, axis=1, keepdims=True)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    _LAYERS.update(Abs=Abs, CompressSqrt=CompressSqrt, SimulateInt8=SimulateInt8,
                   L1Magnitude=L1Magnitude, KeepFirst=KeepFirst,
                   SubtractTimeMean=SubtractTimeMean, Log=Log)


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


def spectrogram(x: Any, window: int, hop: int = DFT_HOP_SAMPLES, pool: int = 1) -> Any:
    """(batch, window) → (batch, frames, DFT_BINS) compressed magnitudes, from int8-friendly
    ops: a fixed DFT as convolution filters, |re| + |im| (an L1 magnitude), a square root.
    ``pool`` > 1 averages the magnitudes of that many consecutive frames (see BASE_RATE_HZ).

    The DFT runs on the window cut into hop-sized blocks (a reshape): frame f is blocks f..f+k-1,
    so it is a stride-1 convolution of k taps over ``hop`` channels, the same arithmetic as a
    stride-``hop`` convolution of 128 taps over one channel but 1.9× faster in XNNPACK, whose
    int8 kernels are slow with a single input channel (benchmarks/model_cost.py).

    Why not re² + im²: full int8 gives every tensor one scale, so a power spectrum keeps only
    ~24 dB of range in magnitude terms (quiet bins round to zero); it cost 2.8 points of accuracy
    against float32 (benchmarks/accuracy.py, seed 0). Magnitudes keep ~42 dB.
    """
    keras = _keras()
    L = keras.layers
    taps = DFT_FRAME_SAMPLES // hop
    frames = (window - DFT_FRAME_SAMPLES) // hop + 1
    used = (frames + taps - 1) * hop
    if used < window:  # samples after the last whole frame do not reach the model
        x = _LAYERS["KeepFirst"](used, name="crop")(x)
    x = L.Reshape((used // hop, hop))(x)
    dft = L.Conv1D(2 * DFT_BINS, taps, padding="valid", use_bias=False, trainable=False,
                   name="fixed_dft")
    x = dft(x)
    dft.set_weights([dft_kernels(DFT_FRAME_SAMPLES, DFT_BINS).reshape(taps, hop, 2 * DFT_BINS)])
    x = _LAYERS["SimulateInt8"](name="int8_dft")(x)
    x = _LAYERS["L1Magnitude"](name="magnitude")(x)
    if pool > 1:
        x = L.AveragePooling1D(pool, name="frame_average")(x)
    x = _LAYERS["SimulateInt8"](name="int8_magnitude")(x)
    x = _LAYERS["CompressSqrt"](name="compress")(x)
    return _LAYERS["SimulateInt8"](name="int8_compress")(x)


def int8_simulations(model: Any) -> list[Any]:
    """The model's SimulateInt8 layers (the spectrogram front-end's)."""
    _keras()
    return [layer for layer in model.layers if isinstance(layer, _LAYERS["SimulateInt8"])]


def calibrate_int8_steps(model: Any, windows: np.ndarray) -> dict[str, float]:
    """Set every SimulateInt8 layer's step to the int8 grid conversion will give its tensor:
    (max - min) / 255 over ``windows`` (normalised, as the model sees them), zero included.

    The spectrogram front-end has no trainable weight, so its tensors' ranges are known before
    training and rounding them in the forward pass is exact quantization-aware training (no
    straight-through gradient needed). Why it matters: music at 400 Hz is bass-heavy with loud
    transients, so the DFT's int8 grid (one scale for all bins) is coarse for the quiet bins;
    a float-trained model lost 5.3 points when only the DFT output was rounded (seed 1 of
    benchmarks/accuracy.py: 97.5% → 92.2%).
    """
    keras = _keras()
    layers = int8_simulations(model)
    if not layers:
        return {}
    for layer in layers:  # the ranges of the unrounded tensors
        layer.step = 0.0
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])
    outs = probe.predict(np.asarray(windows, dtype=np.float32), batch_size=256, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    steps = {}
    for layer, out in zip(layers, outs, strict=True):
        layer.step = float((max(out.max(), 0.0) - min(out.min(), 0.0)) / 255.0)
        steps[layer.name] = layer.step
    return steps


def frame_pool(rate_hz: int) -> int:
    """Frames averaged by the front-end at ``rate_hz`` (1 at 400 Hz)."""
    if rate_hz < BASE_RATE_HZ or rate_hz % BASE_RATE_HZ:
        raise UserError(f"model rate {rate_hz} Hz: the spectrogram models take a multiple of "
                        f"{BASE_RATE_HZ} Hz (400, 2000, 8000, ...); pick one of those")
    return rate_hz // BASE_RATE_HZ


def build_conv2d(window: int, n_classes: int, input_scale: float = 1.0,
                 rate_hz: int = BASE_RATE_HZ) -> Any:
    keras = _keras()
    L = keras.layers
    inp = keras.Input((window,), name="window")
    x = L.Rescaling(input_scale)(inp)
    x = spectrogram(x, window, pool=frame_pool(rate_hz))
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


def build_specnet(window: int, n_classes: int, input_scale: float = 1.0,
                  rate_hz: int = BASE_RATE_HZ, spectral_norm: bool = False) -> Any:
    """The light model: the spectrogram front-end at a 32-sample hop, batch-normalised Conv2D
    blocks of 8, 16, 32 and 48 filters, dropout. A fifth of conv2d's cost per window
    (benchmarks/model_cost.py), which matters with many streams per host or on a small board."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((window,), name="window")
    x = L.Rescaling(input_scale)(inp)
    x = spectrogram(x, window, SPECNET_HOP_SAMPLES, frame_pool(rate_hz))
    if spectral_norm:
        x = _LAYERS["SubtractTimeMean"](name="spectral_norm")(x)
    x = L.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = L.Reshape((-1, DFT_BINS, 1))(x)
    for i, filters in enumerate(SPECNET_FILTERS):
        x = L.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = L.ReLU()(x)
        if i < len(SPECNET_FILTERS) - 1:
            x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)  # global pooling instead lost 5 points (90% vs 95%, seed 1)
    x = L.Dropout(0.3)(x)
    x = L.Dense(64, activation="relu")(x)
    x = L.Dropout(0.3)(x)
    out = L.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out, name="specnet")


def build_gcnet(window: int, n_classes: int, input_scale: float = 1.0,
                dual: bool = False, rate_hz: int = BASE_RATE_HZ) -> Any:
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
        s = spectrogram(scaled, window, pool=frame_pool(rate_hz))
        s = L.BatchNormalization(momentum=BN_MOMENTUM)(s)
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
                input_scale: float = 1.0, rate_hz: int = BASE_RATE_HZ,
                spectral_norm: bool = False) -> Any:
    """``input_scale`` (a fixed in-graph multiply) brings normalised windows to unit RMS, so batch
    norm's moving statistics start near the truth (see BN_MOMENTUM). ``rate_hz``: the model's
    sample rate (the spectrogram front-ends adapt to it, see BASE_RATE_HZ). ``spectral_norm``
    (specnet only): subtract each window's mean spectrum after the front-end."""
    if spectral_norm and arch != "specnet":
        raise UserError(f"spectral normalisation is built for specnet only, not '{arch}'")
    if arch == "conv1d":
        return build_conv1d(window, n_classes, seed_head=seed_recipe)
    if arch == "specnet":
        return build_specnet(window, n_classes, input_scale, rate_hz, spectral_norm)
    if arch == "conv2d":
        return build_conv2d(window, n_classes, input_scale, rate_hz)
    if arch == "mlp":
        return build_mlp(window, n_classes)
    if arch == "gcnet":
        return build_gcnet(window, n_classes, input_scale)
    if arch == "gcnet-dual":
        return build_gcnet(window, n_classes, input_scale, dual=True, rate_hz=rate_hz)
    raise UserError(f"unknown --arch '{arch}'; choose one of {', '.join(ARCHITECTURES)}")
