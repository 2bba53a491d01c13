"""Evaluate a .tflite through the daemon's own Classifier: per window and per track (majority)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.model.card import ModelCard, file_sha256
from genrecast.daemon.model.classifier import Classifier

from .quantize import convert
from .robustness import GAINS_DB, degradations, with_gain


def load_classifier(model_path: Path, card: ModelCard | None = None) -> Classifier:
    # No GPU probe: LiteRT's GPU accelerator aborts at exit when TensorFlow shares the process.
    return Classifier(model_path, card=card, num_threads=2, try_gpu=False)


def converted_classifier(model: Any, mode: str, representative: np.ndarray, seed: int,
                         labels: Sequence[str], rate: int, norm: Normalisation,
                         path: Path) -> Classifier:
    """``model`` converted to ``mode`` (quantize.convert, calibrated on ``representative``)
    and written to ``path``, then loaded through the daemon's Classifier with a card made for it:
    the file every figure is measured on."""
    path.write_bytes(convert(model, mode, representative, seed))
    card = ModelCard(labels=tuple(labels), sample_rate_hz=rate,
                     window_samples=int(model.inputs[0].shape[-1]), normalisation=norm,
                     model_sha256=file_sha256(path), quantization=mode)
    return load_classifier(path, card)


def metrics(pred: np.ndarray, y: np.ndarray, labels: Sequence[str],
            track: np.ndarray | None = None, track_names: Sequence[str] = ()) -> dict[str, Any]:
    """Accuracy, per-class precision/recall, confusion (rows: true), and per-track majority."""
    k = len(labels)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    per_class = {}
    for c, name in enumerate(labels):
        tp = conf[c, c]
        per_class[name] = {
            "precision": float(tp / conf[:, c].sum()) if conf[:, c].sum() else 0.0,
            "recall": float(tp / conf[c].sum()) if conf[c].sum() else 0.0,
            "support": int(conf[c].sum()),
        }
    out: dict[str, Any] = {
        "accuracy": float(np.mean(pred == y)) if y.size else 0.0,
        "n": int(y.size),
        "labels": list(labels),
        "per_class": per_class,
        "confusion": conf.tolist(),
    }
    if track is not None and track.size and (track >= 0).all():
        tracks = {}
        for t in np.unique(track):
            m = track == t
            votes = np.bincount(pred[m], minlength=k)
            true = int(y[m][0])
            name = track_names[t] if t < len(track_names) else str(t)
            tracks[name] = {"label": labels[true], "windows": int(m.sum()),
                            "window_accuracy": float(np.mean(pred[m] == true)),
                            "majority": labels[int(votes.argmax())],
                            "correct": bool(votes.argmax() == true)}
        out["tracks"] = tracks
        out["track_accuracy"] = float(np.mean([t["correct"] for t in tracks.values()]))
        out["n_tracks"] = len(tracks)
        for name in labels:
            of_genre = [t for t in tracks.values() if t["label"] == name]
            if of_genre:
                per_class[name]["track_accuracy"] = float(np.mean([t["correct"] for t in of_genre]))
                per_class[name]["tracks"] = len(of_genre)
    return out


def evaluate(classifier: Classifier, x: np.ndarray, y: np.ndarray, labels: Sequence[str],
             track: np.ndarray | None = None, track_names: Sequence[str] = (),
             groups: Sequence[str] = ()) -> dict[str, Any]:
    """``metrics``; with ``groups`` (one per track) also the grouped figure (grouped_scores)."""
    pred = classifier.predict(x).argmax(axis=1) if len(x) else np.zeros(0, dtype=np.int64)
    out = metrics(pred, y, labels, track, track_names)
    if groups and track is not None and track.size:
        from .grouped_scores import grouped_figure

        track_labels = [-1] * len(track_names)  # -1: not in this set
        for t, c in zip(track.tolist(), y.tolist(), strict=True):
            track_labels[t] = c
        out["grouped"] = grouped_figure(pred, y, track, track_names, track_labels, labels,
                                        groups)
    return out


def robustness(classifier: Classifier, x: np.ndarray, y: np.ndarray, labels: Sequence[str],
               track: np.ndarray | None, track_names: Sequence[str], rate: int,
               gains_db: Sequence[float] = GAINS_DB,
               with_degradations: bool = True) -> dict[str, Any]:
    """Window and track accuracy at each gain (and under each degradation); the worst gain is the
    gain-robust accuracy."""
    def short(m: dict[str, Any]) -> dict[str, Any]:
        keep = {"accuracy": m["accuracy"]}
        if "track_accuracy" in m:
            keep["track_accuracy"] = m["track_accuracy"]
            keep["tracks_wrong"] = sorted(k for k, v in m["tracks"].items() if not v["correct"])
        keep["per_class_recall"] = {k: v["recall"] for k, v in m["per_class"].items()}
        return keep

    by_gain = {f"{g:+g}": short(evaluate(classifier, with_gain(x, g), y, labels, track,
                                         track_names)) for g in gains_db}
    out: dict[str, Any] = {
        "gain_db": by_gain,
        "gain_robust_accuracy": min(v["accuracy"] for v in by_gain.values()),
    }
    if all("track_accuracy" in v for v in by_gain.values()):
        out["gain_robust_track_accuracy"] = min(v["track_accuracy"] for v in by_gain.values())
    if with_degradations:
        out["degradations"] = {name: short(evaluate(classifier, xd, y, labels, track,
                                                    track_names))
                               for name, xd in degradations(x, rate).items()}
    return out
