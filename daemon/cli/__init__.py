"""The ``genrecast`` command line: ``main`` is the console script's entry point."""

from __future__ import annotations

from genrecast.daemon.cli.main import app, main

__all__ = ["app", "main"]
