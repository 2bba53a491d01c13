"""genrecast daemon: live audio → sliding windows → TFLite classifier → ZeroMQ events.

This package stays light (numpy, ai-edge-litert, sounddevice, pyzmq, typer, soxr): it never
imports the training package or TensorFlow.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("genrecast")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
