"""Fit a Keras model on a Dataset: the seed recipe as a reference, or ours (the default).

Ours: categorical cross-entropy, Adam, class weights when classes are imbalanced, fresh
augmentation every epoch (augment.py), early stopping on validation loss (best weights kept), the
card's normalisation applied in float before the model. The seed recipe: the seed's Conv1D with a
sigmoid head, mean squared error, Adam 0.001, batch 16, 10 epochs, raw (un-normalised) windows.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from genrecast.daemon.dsp.normalise import Normalisation

from .architectures import BASE_RATE_HZ, DEFAULT_ARCH, build_model, calibrate_int8_steps
from .augment import PRESETS, augment
from .datasets import Dataset, package_of
from .progress import EpochProgress

log = logging.getLogger(__name__)

IMBALANCE_RATIO = 1.2  # class weights kick in when the largest class outnumbers the smallest by this
# rms normalisation in float before the model (see daemon/dsp/normalise.py). The floor is 20 dB below the
# foundation's default so that a quiet passage played 30 dB down (-80 dBFS) is still brought to full
# level rather than left at the floor; only windows that were near-silent to begin with stay small.
NORMALISATION = Normalisation(method="rms", target_rms=0.1, floor_rms=1e-5)
SEED_RECIPE_EPOCHS, SEED_RECIPE_BATCH, SEED_RECIPE_LR = 10, 16, 1e-3


@dataclass(frozen=True)
class FitConfig:
    arch: str = DEFAULT_ARCH
    recipe: str = "default"
    """``default`` (ours) or ``seed`` (the seed's recipe, for reference)."""
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 6
    seed: int = 0
    augment: bool = True
    augmentation: str = "microphone"
    """Augmentation preset (augment.PRESETS): ``microphone`` (the default) or ``production``
    (adds EQ tilt, band limits, compression and halls)."""
    spectral_norm: bool = False
    """Subtract each window's mean spectrum (per bin, after compression) inside the model."""
    balance_packages: bool = False
    """Weight windows so every package of a genre weighs the same in training (track names
    ``<package>__<track>``)."""
    max_train_windows: int | None = None
    """Subsample the training windows (stratified) to at most this many; None: all."""
    mixed_precision: bool = False

    @property
    def normalisation(self) -> Normalisation:
        return Normalisation("none") if self.recipe == "seed" else NORMALISATION

    def effective(self) -> FitConfig:
        """The seed recipe pins the seed's architecture and hyper-parameters."""
        if self.recipe != "seed":
            return self
        return FitConfig(arch="conv1d", recipe="seed", epochs=SEED_RECIPE_EPOCHS,
                         batch_size=SEED_RECIPE_BATCH, learning_rate=SEED_RECIPE_LR, patience=0,
                         seed=self.seed, augment=False, max_train_windows=self.max_train_windows)


@dataclass
class FitResult:
    model: Any
    config: FitConfig
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    seconds: float = 0.0
    class_weights: dict[int, float] | None = None
    device: str = "cpu"


class EarlyStopping:
    """The weights of the epoch with the lowest validation loss, and when to stop: after
    ``patience`` epochs without an improvement of at least MIN_IMPROVEMENT."""

    MIN_IMPROVEMENT = 1e-4

    def __init__(self, model: Any, patience: int) -> None:
        self.model = model
        self.patience = patience
        self.best_loss = np.inf
        self.best_epoch = 0
        self.best_weights = model.get_weights()
        self.stale = 0

    def stop_after(self, epoch: int, val_loss: float) -> bool:
        """Record epoch ``epoch`` (1-based); True when training should stop."""
        if val_loss < self.best_loss - self.MIN_IMPROVEMENT:
            self.best_loss, self.best_epoch, self.stale = val_loss, epoch, 0
            self.best_weights = self.model.get_weights()
            return False
        self.stale += 1
        return self.stale >= self.patience

    def keep(self, epoch: int) -> None:
        """No validation to judge by: epoch ``epoch`` is the one kept (the last one run)."""
        self.best_epoch, self.best_weights = epoch, self.model.get_weights()

    def restore(self) -> None:
        self.model.set_weights(self.best_weights)


def set_determinism(seed: int) -> None:
    """Same data and seed, same model.

    Op determinism is also why TensorFlow 2.21 logs ``NodeDef mentions attribute
    use_unbounded_threadpool which is not in the op definition`` a few times per training: to be
    deterministic, tf.data rewrites Keras's parallel map (``ParallelMapDatasetV2``) into a
    sequential ``MapDataset`` and carries over an attribute only the parallel op has. Measured:
    five such lines in a small training with determinism, none without; one TensorFlow package
    installed (tensorflow-cpu), so not a version mismatch. Harmless (the attribute is ignored);
    hidden unless ``-v``."""
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def subsample(y: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` of the windows (all of them when ``limit`` is None)."""
    if limit is None or y.size <= limit:
        return np.arange(y.size)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(y.size, size=limit, replace=False))


def package_weights(y: np.ndarray, packages: np.ndarray) -> np.ndarray:
    """Per-window weights under which every package of a genre weighs the same and each genre
    keeps its total (a genre of one package is unchanged)."""
    w = np.ones(y.size)
    for c in np.unique(y):
        in_c = y == c
        names, counts = np.unique(packages[in_c], return_counts=True)
        share = {p: in_c.sum() / (names.size * k) for p, k in zip(names, counts, strict=True)}
        w[in_c] = [share[p] for p in packages[in_c]]
    return w


def class_weights(y: np.ndarray, n_classes: int) -> dict[int, float] | None:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    if counts.min() > 0 and counts.max() / counts.min() < IMBALANCE_RATIO:
        return None
    return {c: float(y.size / (n_classes * max(counts[c], 1))) for c in range(n_classes)}


def training_device(tf: object) -> str:
    """``gpu:NAME`` when TensorFlow sees a GPU (it then trains there), else ``cpu``."""
    gpus = tf.config.list_physical_devices("GPU")  # type: ignore[attr-defined]
    if not gpus:
        return "cpu"
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get(  # type: ignore[attr-defined]
            "device_name", gpus[0].name)
    except (RuntimeError, ValueError):
        name = gpus[0].name
    return f"gpu:{name}"


def fit(data: Dataset, config: FitConfig, rate: int = BASE_RATE_HZ) -> FitResult:
    """Train on ``data``, windows at ``rate`` Hz (the model card's rate)."""
    cfg = config.effective()
    set_determinism(cfg.seed)
    import keras
    import tensorflow as tf

    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    device = training_device(tf)
    n_classes = len(data.labels)
    norm = cfg.normalisation
    keep = subsample(data.train.y, cfg.max_train_windows, cfg.seed)
    x_raw, y = data.train.x[keep], data.train.y[keep]
    x_val = norm.apply(data.val.x)
    seed_recipe = cfg.recipe == "seed"
    scale = 1.0 / norm.target_rms if norm.method == "rms" else 1.0
    model = build_model(cfg.arch, data.train.x.shape[1], n_classes, seed_recipe=seed_recipe,
                        input_scale=scale, rate_hz=rate, spectral_norm=cfg.spectral_norm)
    steps = calibrate_int8_steps(model, norm.apply(x_raw))
    if steps:
        log.info("int8 grid simulated while training: %s", steps)
    if seed_recipe:
        loss: Any = "mean_squared_error"
        y_fit: np.ndarray = np.eye(n_classes, dtype=np.float32)[y]
        y_val: np.ndarray = np.eye(n_classes, dtype=np.float32)[data.val.y]
        weights = None
    else:
        loss = "sparse_categorical_crossentropy"
        y_fit, y_val = y, data.val.y
        weights = class_weights(y, n_classes)
    sample_weight = None
    if cfg.balance_packages and data.tracks:
        names = np.asarray([package_of(data.tracks[t]) for t in data.train.track[keep]])
        sample_weight = package_weights(y, names)
        if weights is not None:  # one weight per window: the class's times the package's
            sample_weight *= np.asarray([weights[int(c)] for c in y])
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=loss,
                  metrics=["accuracy"])
    rng = np.random.default_rng(cfg.seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [],
                                       "val_accuracy": []}
    stopping = EarlyStopping(model, cfg.patience)
    start = time.monotonic()
    log.info("training %s (%s recipe) on %d windows, %d classes, on %s", cfg.arch, cfg.recipe,
                y.size, n_classes, device)
    log.info("class weights %s", weights)
    with EpochProgress(cfg.epochs, f"training {cfg.arch} on {device}") as progress:
        for epoch in range(cfg.epochs):
            x_epoch = (augment(x_raw, y, rate, rng, PRESETS[cfg.augmentation]) if cfg.augment
                       else x_raw)
            h = model.fit(norm.apply(x_epoch), y_fit, batch_size=cfg.batch_size, epochs=1,
                          class_weight=weights if sample_weight is None else None,
                          sample_weight=sample_weight, verbose=0, shuffle=True)
            val_loss, val_acc = model.evaluate(x_val, y_val, batch_size=256, verbose=0)
            history["loss"].append(float(h.history["loss"][0]))
            history["accuracy"].append(float(h.history["accuracy"][0]))
            history["val_loss"].append(float(val_loss))
            history["val_accuracy"].append(float(val_acc))
            progress.update(epoch + 1, history["loss"][-1], float(val_acc))
            if cfg.patience <= 0:  # the seed recipe: no early stopping, last epoch kept
                stopping.best_epoch = epoch + 1
                continue
            if stopping.stop_after(epoch + 1, float(val_loss)):
                log.info("early stop after epoch %d (best %d)", epoch + 1, stopping.best_epoch)
                progress.stop_early(epoch + 1)
                break
    if cfg.patience > 0:
        stopping.restore()
    return FitResult(model=model, config=cfg, history=history, best_epoch=stopping.best_epoch,
                     seconds=time.monotonic() - start, class_weights=weights, device=device)
