"""Build the model card written beside a trained .tflite (see daemon/model/card.py)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.model.card import ModelCard, file_sha256

LIBRARIES = ("genrecast", "tensorflow", "tensorflow-cpu", "keras", "ai-edge-litert", "numpy",
             "soxr", "soundfile")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def make_card(model_path: Path, name: str, labels: list[str], rate: int, window: int,
              normalisation: Normalisation, architecture: str, quantization: str,
              extra: dict[str, Any]) -> ModelCard:
    extra = dict(extra)
    extra.setdefault("library_versions", library_versions())
    return ModelCard(labels=tuple(labels), sample_rate_hz=rate, window_samples=window,
                     normalisation=normalisation, model_sha256=file_sha256(model_path), name=name,
                     quantization=quantization, architecture=architecture, extra=extra)
