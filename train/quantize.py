"""Keras model → TFLite bytes: float32, float16, dynamic-range or full int8 (float input/output).

Full int8 calibrates on representative windows taken from the training set (already normalised,
so the input scale matches what the daemon feeds after its float normalisation).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from genrecast.daemon.errors import UserError

from .progress import verbose_requested

log = logging.getLogger(__name__)

MODES = ("float32", "float16", "dynamic", "int8")
REPRESENTATIVE_WINDOWS = 400
INT8_TOLERANCE_POINTS = 0.5  # ship int8 unless it costs more than this much accuracy


def convert(model: Any, mode: str, representative: np.ndarray | None = None,
            seed: int = 0) -> bytes:
    """Convert ``model`` to TFLite in ``mode``; ``representative`` (normalised windows) for int8.

    The float files keep the spectrogram front-end's rounding to its int8 grid (the network as it
    was trained); in full int8 the converter's own quantization takes its place."""
    from .architectures import int8_simulations

    simulations = int8_simulations(model) if mode == "int8" else []
    for layer in simulations:
        layer.bypass = True
    try:
        return _convert(model, mode, representative, seed)
    finally:
        for layer in simulations:
            layer.bypass = False


def _convert(model: Any, mode: str, representative: np.ndarray | None, seed: int) -> bytes:
    import tensorflow as tf

    if mode not in MODES:
        raise UserError(f"unknown quantization '{mode}'; choose one of {', '.join(MODES)}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        if representative is None or len(representative) == 0:
            raise UserError("int8 quantization needs representative windows from the data")
        rng = np.random.default_rng(seed)
        pick = rng.permutation(len(representative))[:REPRESENTATIVE_WINDOWS]
        samples = np.asarray(representative[pick], dtype=np.float32)

        def gen() -> Iterator[list[np.ndarray]]:
            for row in samples:
                yield [row[None, :]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # float32 in and out: the daemon feeds float windows and reads float probabilities.
    # The converter prints the saved artifact's signature on stdout; keep it for -v.
    out = contextlib.nullcontext() if verbose_requested() else contextlib.redirect_stdout(
        io.StringIO())
    with warnings.catch_warnings(), out:
        # The converter warns that float inputs carry no quantization statistics: intended here
        # (float32 in/out, quantized inside).
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return bytes(converter.convert())


def choose_shipped(accuracy: dict[str, float]) -> tuple[str, str]:
    """(mode, reason): int8 when within INT8_TOLERANCE_POINTS of float32, else float32."""
    if "int8" not in accuracy:
        return "float32", "int8 conversion was not available"
    loss_points = 100 * (accuracy["float32"] - accuracy["int8"])
    if loss_points <= 0:
        return "int8", (f"int8 is as accurate as float32 or more ({100 * accuracy['int8']:.2f}% "
                        f"vs {100 * accuracy['float32']:.2f}%)")
    if loss_points <= INT8_TOLERANCE_POINTS:
        return "int8", (f"int8 is within {INT8_TOLERANCE_POINTS} points of float32 "
                        f"({100 * accuracy['int8']:.2f}% vs {100 * accuracy['float32']:.2f}%)")
    return "float32", (f"int8 costs {loss_points:.2f} points (> {INT8_TOLERANCE_POINTS}) against "
                       f"float32, so the float32 model ships")
