"""train → quantize (every mode) → evaluate on the test split → STEM.tflite + STEM.json + plots."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.model.card import ModelCard, file_sha256

from .card import make_card
from .cost import cost_entry
from .datasets import Dataset
from .evaluate import converted_classifier, evaluate, load_classifier, robustness
from .fit import FitConfig, FitResult, fit
from .plots import plot_confusion, plot_curves
from .quantize import MODES, choose_shipped

log = logging.getLogger(__name__)

SYNTHETIC_NOTE = ("trained and tested on SYNTHETIC signals (genrecast's built-in generator): "
                  "not a model of real music; for tests and demos only")


def quantize_and_evaluate(model: Any, data: Dataset, norm: Normalisation, modes: tuple[str, ...],
                          workdir: Path, seed: int, rate: int) -> dict[str, dict[str, Any]]:
    """Every quantization of ``model`` → {mode: {path, accuracy, size_bytes, metrics}}."""
    rep = norm.apply(data.train.x)
    out: dict[str, dict[str, Any]] = {}
    for mode in modes:
        path = workdir / f"{mode}.tflite"
        clf = converted_classifier(model, mode, rep, seed, data.labels, rate, norm, path)
        m = evaluate(clf, data.test.x, data.test.y, data.labels,
                     data.test.track, data.tracks, data.groups)
        out[mode] = {"path": path, "accuracy": m["accuracy"], "size_bytes": path.stat().st_size,
                     "metrics": m}
        log.info("%s: test accuracy %.4f (%d bytes)", mode, m["accuracy"], path.stat().st_size)
    return out


def train_and_export(data: Dataset, cfg: FitConfig, out: Path, rate: int = 400,
                     modes: tuple[str, ...] = MODES, command: str = "",
                     robustness_checks: bool = True) -> dict[str, Any]:
    """The whole of ``genrecast train``; returns the card as a dict."""
    started = time.monotonic()
    result: FitResult = fit(data, cfg, rate)
    eff = result.config
    norm = eff.normalisation
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="genrecast-quant-") as tmp:
        quant = quantize_and_evaluate(result.model, data, norm, modes, Path(tmp), eff.seed,
                                      rate)
        shipped, reason = choose_shipped({k: v["accuracy"] for k, v in quant.items()})
        model_path = out.with_suffix(".tflite")
        model_path.write_bytes(quant[shipped]["path"].read_bytes())
    result.model.save(out.with_suffix(".keras"))
    test_metrics = quant[shipped]["metrics"]
    stem = out.name
    plot_curves(result.history, out.parent / f"{stem}-curves.png",
                f"{stem}: {eff.arch} ({eff.recipe} recipe)")
    plot_confusion(test_metrics["confusion"], data.labels, out.parent / f"{stem}-confusion.png",
                   f"{stem} ({shipped}) on held-out {'tracks' if data.tracks else 'windows'}: "
                   f"{100 * test_metrics['accuracy']:.1f}%")
    extra: dict[str, Any] = {
        "dataset": data.describe(),
        "training": {
            **{k: v for k, v in asdict(eff).items() if k != "mixed_precision"},
            "loss": "mean_squared_error" if eff.recipe == "seed" else "categorical_crossentropy",
            "epochs_run": len(result.history["loss"]),
            "best_epoch": result.best_epoch,
            "class_weights": result.class_weights,
            "device": result.device,
            "training_seconds": round(result.seconds, 1),
            "total_seconds": None,
            "history": result.history,
        },
        "quantizations": {k: {"test_accuracy": v["accuracy"], "size_bytes": v["size_bytes"]}
                          for k, v in quant.items()},
        "shipped_quantization_reason": reason,
        "test": test_metrics,
        "plots": {"curves": f"{stem}-curves.png", "confusion": f"{stem}-confusion.png"},
        "command": command,
    }
    if data.synthetic:
        extra["warning"] = SYNTHETIC_NOTE
    if robustness_checks:
        clf = load_classifier(model_path, ModelCard(
            labels=tuple(data.labels), sample_rate_hz=rate, window_samples=data.test.x.shape[1],
            normalisation=norm, model_sha256=file_sha256(model_path)))
        extra["robustness"] = robustness(clf, data.test.x, data.test.y, data.labels,
                                         data.test.track, data.tracks, rate)
    extra["cost"] = cost_entry(model_path)
    extra["training"]["total_seconds"] = round(time.monotonic() - started, 1)
    card = make_card(model_path, stem, data.labels, rate, data.test.x.shape[1], norm,
                     arch_name(eff), shipped, extra)
    card.save(out.with_suffix(".json"))
    return card.to_json()


def arch_name(cfg: FitConfig) -> str:
    return "seed-conv1d (seed recipe)" if cfg.recipe == "seed" else cfg.arch


def summary_line(card: dict[str, Any]) -> str:
    q = card["quantizations"]
    parts = [f"{k} {100 * v['test_accuracy']:.2f}%" for k, v in q.items()]
    line = (f"test accuracy: {', '.join(parts)}; shipped {card['quantization']} "
            f"({card['shipped_quantization_reason']})")
    rob = card.get("robustness")
    if rob:
        line += f"; gain-robust {100 * rob['gain_robust_accuracy']:.2f}%"
    if "track_accuracy" in card["test"]:
        line += f"; tracks right {100 * card['test']['track_accuracy']:.1f}%"
    grouped = card["test"].get("grouped")
    if grouped:
        line += (f"; grouped ({grouped['n_groups']} held-out groups) macro recall "
                 f"{100 * grouped['macro']:.1f}%")
    return line
