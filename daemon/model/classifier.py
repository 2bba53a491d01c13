"""Run a .tflite model on batches of windows with LiteRT (the CPU interpreter with XNNPACK).

The probe reports a LiteRT GPU accelerator when there is one (``backend`` stays ``cpu``: the GPU
path with TensorBuffers is not exercised on real hardware yet).

The model takes float windows (n × window_samples) and returns class scores (n × labels); the
classifier never needs to know the architecture. A batch is run as power-of-two pieces, each on an
interpreter allocated once for that size: no re-allocation per call, no padded rows.
"""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.card import ModelCard, load_card, read_model
from genrecast.daemon.model.litert import interpreter_class, quiet_native_stderr
from genrecast.daemon.model.probe import probe_model

log = logging.getLogger(__name__)

MAX_BATCH = 256


class Classifier:
    """A loaded model and its card. ``predict(windows)`` returns probabilities (n × labels)."""

    def __init__(
        self,
        model_path: str | Path,
        card: ModelCard | None = None,
        num_threads: int = 1,
        try_gpu: bool = True,
        probe: bool = True,
    ) -> None:
        self.model_path = Path(model_path)
        # The file is read once: these very bytes are hashed against the card, probed and run,
        # even if the file is replaced meanwhile, and no file stays open (LiteRT keeps a model
        # loaded by path mapped, one descriptor per interpreter).
        self._model_bytes = read_model(self.model_path)
        if card is None:
            card = load_card(self.model_path, content=self._model_bytes)
        elif hashlib.sha256(self._model_bytes).hexdigest() != card.model_sha256:
            raise ModelError(f"model {self.model_path} does not match the card it was given; "
                             "restore the model and its card together")
        self.card = card
        self.temperature = card_temperature(card, self.model_path)
        gpu = None
        if probe:  # a corrupt file may crash LiteRT in C: find out in a child process first
            gpu = probe_model(self.model_path, content=self._model_bytes, check_gpu=try_gpu)
        self.backend = "cpu"
        if gpu:
            # A GPU model would be run with input/output TensorBuffers; until that path is
            # exercised on real hardware we report it and still run the validated CPU interpreter.
            log.info("a LiteRT GPU accelerator is available: %s", gpu)
        Interpreter = interpreter_class()
        try:
            with quiet_native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
                self._interp = Interpreter(model_content=self._model_bytes,
                                           num_threads=num_threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"model {self.model_path} cannot be loaded by LiteRT ({exc}); restore or retrain it"
            ) from exc
        inp = self._interp.get_input_details()
        out = self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"model {self.model_path} must have one input and one output tensor")
        self._in_index = inp[0]["index"]
        self._out_index = out[0]["index"]
        in_shape = list(inp[0]["shape"])
        out_shape = list(out[0]["shape"])
        if in_shape[-1] != self.card.window_samples:
            raise ModelError(
                f"model {self.model_path} takes windows of {in_shape[-1]} samples but its card says "
                f"{self.card.window_samples}; rebuild the card"
            )
        if out_shape[-1] != len(self.card.labels):
            raise ModelError(
                f"model {self.model_path} has {out_shape[-1]} outputs but its card names "
                f"{len(self.card.labels)} labels; rebuild the card"
            )
        self._batch = int(in_shape[0])
        self._num_threads = num_threads
        self._by_batch: dict[int, Any] = {}
        log.info("model %s loaded on %s", self.card.model_id, self.backend)

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self._interp.resize_tensor_input(self._in_index, [batch, self.card.window_samples])
            self._interp.allocate_tensors()
            self._batch = batch
            self._by_batch = {b: i for b, i in self._by_batch.items() if i is not self._interp}

    def _interpreter_for(self, batch: int) -> Any:
        """An interpreter allocated for exactly ``batch`` windows (kept, one per size used)."""
        interp = self._by_batch.get(batch)
        if interp is None:
            if batch == self._batch:
                interp = self._interp
            else:
                with quiet_native_stderr():
                    interp = interpreter_class()(model_content=self._model_bytes,
                                                  num_threads=self._num_threads)
                    interp.resize_tensor_input(self._in_index,
                                               [batch, self.card.window_samples])
                    interp.allocate_tensors()
            self._by_batch[batch] = interp
        return interp

    def predict(self, windows: np.ndarray, normalised: bool = False) -> np.ndarray:
        """Probabilities for raw windows (n × window); ``normalised`` skips the card's scaling.

        n is split into powers of two (11 = 8 + 2 + 1), each run on an interpreter sized for it:
        no padded rows. Padding to the next power of two cost up to half the invoke time, which
        with many sources whose windows fall due a few at a time was a quarter of the classify
        stage on average."""
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if not normalised:
            x = self.card.normalisation.apply(x)
        n = x.shape[0]
        out = np.empty((n, len(self.card.labels)), dtype=np.float32)
        start = 0
        while start < n:
            batch = min(MAX_BATCH, 1 << ((n - start).bit_length() - 1))
            interp = self._interpreter_for(batch)
            interp.set_tensor(self._in_index, np.ascontiguousarray(x[start : start + batch]))
            interp.invoke()
            out[start : start + batch] = interp.get_tensor(self._out_index)
            start += batch
        return at_temperature(to_probabilities(out), self.temperature)


def card_temperature(card: ModelCard, where: Path) -> float:
    """The card's calibration temperature (``calibration.temperature``; 1: none)."""
    raw = card.extra.get("calibration", {})
    value = raw.get("temperature", 1.0) if isinstance(raw, dict) else 1.0
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = float("nan")
    if not (math.isfinite(t) and 0.05 <= t <= 20.0):
        raise ModelError(f"{where}: the card's calibration.temperature {value!r} is not a number "
                         "between 0.05 and 20; fix the card or remove its calibration")
    return t


def at_temperature(probs: np.ndarray, t: float) -> np.ndarray:
    """Probabilities as the model would give them with its logits divided by ``t``: softmax of
    log(p) / t (temperature scaling; 1 leaves them as they are)."""
    if t == 1.0:
        return probs
    z = np.log(np.clip(probs, 1e-9, 1.0)) / t
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def to_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores → rows that sum to 1 (softmax outputs pass through; sigmoid outputs are rescaled)."""
    scores = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, None)
    total = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / scores.shape[1])
    return np.where(total > 0, scores / np.where(total > 0, total, 1), uniform).astype(np.float32)
