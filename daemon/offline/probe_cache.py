"""Probe a model in a child process once per model and LiteRT version, not once per command.

The probe (``daemon/model/probe.py``) guards against a corrupt file crashing LiteRT in C; it costs
a second Python process importing LiteRT, 0.6 s here, which for ``genrecast classify`` on one
10-minute file was as long as the classification. Whether given bytes crash a given LiteRT cannot
change, so a model that passed is remembered by the SHA-256 of its bytes (under
``$XDG_CACHE_HOME/genrecast/probed/``); the daemon still probes on every start.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from importlib import metadata
from pathlib import Path

from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.probe import probe_model

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genrecast" / "probed"


def _litert_version() -> str:
    try:
        return metadata.version("ai-edge-litert")
    except metadata.PackageNotFoundError:  # pragma: no cover - the abandoned tflite-runtime
        return "unknown"


def ensure_probed(model_path: Path) -> None:
    """Raise ModelError unless these model bytes passed the probe, now or in an earlier run."""
    try:
        content = model_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model {model_path} cannot be read ({exc}); check it") from exc
    sha = hashlib.sha256(content).hexdigest()
    marker = cache_dir() / (f"{sha}-litert{_litert_version()}-"
                            f"py{sys.version_info.major}.{sys.version_info.minor}")
    if marker.exists():
        log.debug("model %s passed the probe before (%s)", model_path, marker.name)
        return
    probe_model(model_path, content=content)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as exc:  # a read-only home: probe again next time, nothing worse
        log.debug("cannot remember the probe in %s (%s)", marker, exc)
