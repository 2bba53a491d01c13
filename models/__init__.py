"""The models shipped with genrecast: each NAME.tflite beside its model card NAME.json."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL_NAME = "default"


def default_model_path() -> Path:
    """The shipped default model, found the same way from a checkout and from a wheel."""
    return MODELS_DIR / f"{DEFAULT_MODEL_NAME}.tflite"
