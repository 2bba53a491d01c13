"""A genre folder as log-mel patches for the wide model: decoded, windowed and turned into
patches one track at a time, so an hour of 16-kHz windows never sits in memory as raw audio.

Windows are cut by the daemon's own path (``datasets._decode`` → ``audio_to_windows``), the same
as every other model's; the raw windows of any track can be had again (``raw_windows``) for the
int8 model, which takes audio, not patches.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.dsp.chain import audio_to_windows

from .cache import AudioCache
from .datasets import Dataset, Part, _decode, _list_genres, drop_silent
from .fit import NORMALISATION
from .wide import WIDE_RATE_HZ, WIDE_WINDOW, features

log = logging.getLogger(__name__)


def raw_windows(path: Path, cache: AudioCache | None, hop: int = WIDE_RATE_HZ) -> np.ndarray:
    """The non-silent 3-s windows of one file at 16 kHz, in time order."""
    mono = _decode(path, WIDE_RATE_HZ, cache)
    _, wins = audio_to_windows(mono, WIDE_RATE_HZ, WIDE_RATE_HZ, WIDE_WINDOW, hop)
    return drop_silent(wins)


def calibrated_front(root: Path, cache: AudioCache | None, seed: int = 0, tracks: int = 40,
                     per_track: int = 8) -> tuple[Any, np.ndarray]:
    """The front end with its int8 grid set (architectures.calibrate_int8_steps) from windows of
    ``tracks`` files of ``root`` spread over its genres, and those (normalised) windows: full int8
    conversion must calibrate on the same ones, so that its grid is the one the back end learned
    from (with other windows, the ranges and so the grids differ, and int8 drifts from float)."""
    from .architectures import calibrate_int8_steps
    from .wide import build_front

    files = [f for fs in _list_genres(root).values() for f in fs]
    rng = np.random.default_rng(seed)
    picked = [files[int(i)] for i in rng.permutation(len(files))[:tracks]]
    wins = [w[rng.permutation(len(w))[:per_track]] for w in (raw_windows(f, cache) for f in picked)]
    front = build_front(input_scale=1.0 / NORMALISATION.target_rms)
    windows = NORMALISATION.apply(np.concatenate(wins))
    steps = calibrate_int8_steps(front, windows)
    log.info("wide front end int8 grid: %s", steps)
    return front, windows


def load_patches(root: Path, front: Any, cache: AudioCache | None, hop: int = WIDE_RATE_HZ,
                 labels: list[str] | None = None) -> tuple[Dataset, list[Path]]:
    """Every track of ``root/<genre>/`` as patches (all in ``train``), and each track's file."""
    genres = _list_genres(root)
    names = labels or list(genres)
    xs, ys, ts = [], [], []
    tracks: list[str] = []
    track_labels: list[int] = []
    paths: list[Path] = []
    digest = hashlib.sha256()
    for genre in genres:
        for path in genres[genre]:
            wins = raw_windows(path, cache, hop)
            if len(wins) == 0:
                continue
            i = len(tracks)
            tracks.append(str(path.relative_to(root)))
            track_labels.append(names.index(genre))
            paths.append(path)
            xs.append(features(front, NORMALISATION.apply(wins)))
            ys.append(np.full(len(wins), names.index(genre)))
            ts.append(np.full(len(wins), i))
            digest.update(tracks[-1].encode())
            if i % 50 == 0:
                log.info("patches: %d tracks of %s", i + 1, root)
    part = Part(np.concatenate(xs), np.concatenate(ys).astype(np.int64),
                np.concatenate(ts).astype(np.int64))
    empty = Part(part.x[:0], part.y[:0], part.track[:0])
    data = Dataset(labels=names, train=part, val=empty, test=empty, kind="folder",
                   source=root.name, tracks=tracks, track_labels=track_labels,
                   fingerprint=digest.hexdigest())
    return data, paths
