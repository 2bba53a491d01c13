"""Reproducible splits: by track for audio folders (never by window), by window for an npz."""

from __future__ import annotations

import math

import numpy as np
from genrecast.daemon.errors import DataError

MIN_TRACKS_PER_GENRE = 3  # one each for train, validation and test


def split_tracks(track_labels: np.ndarray, test_fraction: float, val_fraction: float, seed: int,
                 names: list[str], tracks: list[str]) -> list[str]:
    """Assign each track to ``train``, ``val`` or ``test``, stratified per genre.

    Each genre gives ceil(test_fraction × n) tracks (at least one) to test and
    round(val_fraction × n) (at least one) to validation; the rest train. The order is a seeded
    permutation of the tracks sorted by name, so the same files and seed give the same split.
    """
    assign = ["train"] * len(track_labels)
    for gi, genre in enumerate(names):
        ids = sorted((i for i in range(len(track_labels)) if track_labels[i] == gi),
                     key=lambda i: tracks[i])
        n = len(ids)
        if n < MIN_TRACKS_PER_GENRE:
            raise DataError(
                f"genre '{genre}' has {n} usable track(s); the split is by track, so each genre "
                f"needs at least {MIN_TRACKS_PER_GENRE} (train, validation, test): add recordings"
            )
        order = np.random.default_rng([seed, gi]).permutation(n)
        n_test = max(1, math.ceil(test_fraction * n))
        n_val = max(1, round(val_fraction * n))
        if n_test + n_val >= n:
            n_test, n_val = max(1, n - 2), 1
        for rank, j in enumerate(order):
            if rank < n_test:
                assign[ids[j]] = "test"
            elif rank < n_test + n_val:
                assign[ids[j]] = "val"
    return assign


def split_windows(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random (train indices, validation indices) of windows with labels ``y``."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        ids = rng.permutation(np.flatnonzero(y == c))
        n_val = max(1, round(val_fraction * ids.size)) if ids.size > 1 else 0
        val.append(ids[:n_val])
        train.append(ids[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
