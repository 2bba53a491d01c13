"""Daemon commands: run, listen, classify, devices, model."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _default_model() -> Path:
    from genrecast.models import default_model_path

    return default_model_path()


def register(app: typer.Typer) -> None:
    @app.command("model")
    def model_cmd(
        model: Path = typer.Argument(None, help="A .tflite model (default: the shipped model)."),
    ) -> None:
        """Print a model's card (labels, rate, window, normalisation, accuracy, provenance)."""
        from .model_card import load_card

        card = load_card(model or _default_model())
        typer.echo(json.dumps(card.to_json(), indent=2))
