"""Cache of decoded audio at the model rate, so a second training run does not decode again.

Location: ``$GENRECAST_CACHE_DIR``, else ``$XDG_CACHE_HOME/genrecast``, else ``~/.cache/genrecast``
(``--cache-dir`` overrides; ``--no-cache`` disables). Key: absolute path, size, mtime and the
model rate; a changed file gets a new entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the decoding/resampling path changes


def default_cache_dir() -> Path:
    env = os.environ.get("GENRECAST_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "genrecast"


class AudioCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / "audio"
        self.hits = 0
        self.misses = 0

    def _key(self, path: Path, rate: int) -> Path:
        st = path.stat()
        raw = f"v{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{rate}"
        return self.root / f"{hashlib.sha256(raw.encode()).hexdigest()[:32]}.npy"

    def get(self, path: Path, rate: int) -> np.ndarray | None:
        try:
            arr = np.load(self._key(path, rate), allow_pickle=False)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return arr

    def put(self, path: Path, rate: int, mono: np.ndarray) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            target = self._key(path, rate)
            tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, mono.astype(np.float32, copy=False))
            tmp.replace(target)  # atomic: a concurrent run never reads half a file
        except OSError as exc:
            log.warning("cannot write the audio cache in %s (%s); continuing without", self.root,
                        exc)
