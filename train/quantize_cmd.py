"""``genrecast quantize``: a trained STEM.keras (+ its card) → one TFLite quantization, evaluated."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.card import ModelCard, card_path_for, file_sha256

from .evaluate import evaluate, load_classifier
from .quantize import convert

log = logging.getLogger(__name__)


def run_quantize(keras_model: Path, data: str, out: Path, mode: str, seed: int,
                 load: Callable[[list[str] | None, int, int], Any]) -> None:
    """``load(labels, rate_hz, window_samples)``: the data at the card's rate and window."""
    if keras_model.suffix != ".keras" or not keras_model.is_file():
        raise ModelError(f"{keras_model} is not a .keras file written by genrecast train")
    card_file = card_path_for(keras_model)
    if not card_file.is_file():
        raise ModelError(f"{keras_model} has no card {card_file.name} beside it; "
                         "quantize needs the card that genrecast train wrote")
    try:
        src = ModelCard.from_json(json.loads(card_file.read_text()), where=str(card_file))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_file} is not valid JSON ({exc})") from exc
    from .architectures import load_keras_model

    model = load_keras_model(keras_model)
    dataset = load(list(src.labels) if not data.startswith("synthetic") else None,
                   src.sample_rate_hz, src.window_samples)
    norm = src.normalisation
    tflite = out.with_suffix(".tflite")
    tflite.parent.mkdir(parents=True, exist_ok=True)
    tflite.write_bytes(convert(model, mode, norm.apply(dataset.train.x), seed))
    card = ModelCard(labels=src.labels, sample_rate_hz=src.sample_rate_hz,
                     window_samples=src.window_samples, normalisation=norm,
                     model_sha256=file_sha256(tflite), name=out.name, quantization=mode,
                     architecture=src.architecture, extra=dict(src.extra))
    t = dataset.test
    m = evaluate(load_classifier(tflite, card), t.x, t.y, dataset.labels, t.track, dataset.tracks)
    extra = dict(src.extra)
    extra["test"] = m
    extra["quantized_from"] = keras_model.name
    card = ModelCard(**{**card.__dict__, "extra": extra})
    card.save(out.with_suffix(".json"))
    typer.echo(f"wrote {tflite} ({mode}): test accuracy {100 * m['accuracy']:.2f}% "
               f"over {m['n']} windows")
