"""Build the tiny test model ``data/tone.tflite`` + card: labels ``low`` / ``high``.

It tells a low tone (~50 Hz) from a high one (~150 Hz) at the model's 400 Hz rate, by the mean
absolute difference between consecutive samples of the (RMS-normalised) window, so tests can
assert exact genre events without depending on the shipped model's accuracy. A real TFLite model,
built with TensorFlow (the ``train`` extra): ``python tests/support/make_tiny_model.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.model.card import ModelCard, file_sha256

RATE_HZ = 400
WINDOW = 1200
SPLIT = 0.12  # mean |x[t]-x[t-1]| between a 50-Hz (0.069) and a 150-Hz (0.166) tone at RMS 0.1
GAIN = 60.0


def build(out_dir: Path) -> Path:
    import tensorflow as tf

    inp = tf.keras.Input(shape=(WINDOW,), batch_size=None, name="window")
    diff = tf.keras.layers.Lambda(
        lambda x: tf.reduce_mean(tf.abs(x[:, 1:] - x[:, :-1]), axis=1, keepdims=True))(inp)
    logits = tf.keras.layers.Dense(
        2, kernel_initializer=tf.constant_initializer([[-GAIN, GAIN]]),
        bias_initializer=tf.constant_initializer([GAIN * SPLIT, -GAIN * SPLIT]))(diff)
    out = tf.keras.layers.Softmax()(logits)
    model = tf.keras.Model(inp, out)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path = out_dir / "tone.tflite"
    path.write_bytes(converter.convert())
    ModelCard(labels=("low", "high"), sample_rate_hz=RATE_HZ, window_samples=WINDOW,
              normalisation=Normalisation(method="rms", target_rms=0.1, floor_rms=1e-4),
              model_sha256=file_sha256(path), name="tone", quantization="float32",
              architecture="mean-abs-diff-dense",
              extra={"trained_on": "nothing: fixed weights, a test fixture"}).save(
                  path.with_suffix(".json"))
    return path


if __name__ == "__main__":
    p = build(Path(__file__).resolve().parent / "data")
    print(p, np.round(p.stat().st_size / 1024, 1), "KiB")
