"""Training commands (train, evaluate, quantize), plugged into the ``genrecast`` CLI."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the training commands to ``app``; their bodies import TensorFlow only when run."""
