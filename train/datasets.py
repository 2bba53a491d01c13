"""Training data: an npz in the seeds' layout, a folder of genre subfolders, or ``synthetic[:N]``.

Every source ends as a ``Dataset``: labelled windows with the track each came from, split into
train / validation / test. Audio files are decoded and cut by the daemon's own code
(``read_audio`` → ``audio_to_model_rate`` → ``audio_to_windows``) so training windows are the
windows the daemon will see. Decoded model-rate audio is cached (see ``cache.py``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from genrecast.daemon.audio.decode import check_finite, read_audio
from genrecast.daemon.dsp.chain import audio_to_model_rate, audio_to_windows
from genrecast.daemon.errors import DataError, InputNotFound, UserError

from .cache import AudioCache
from .split import split_tracks, split_windows
from .synthetic import (
    SYNTHETIC_TRACK_SECONDS,
    SYNTHETIC_TRACKS_PER_GENRE,
    synthetic_labels,
    synthetic_track,
)

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif",
                  ".aiff", ".au", ".wma")
DEFAULT_TWO_LABELS = ("classical", "rock")
SILENCE_RMS = 1e-4  # about -80 dBFS: the normalisation's floor
PACKAGE_SEPARATOR = "__"  # track files named <package>__<track> (models/arrange_recordings.py)


def package_of(track_name: str) -> str:
    """The package a track came from (``genre/<package>__<track>.flac`` → ``<package>``; ``""``
    when the name carries none)."""
    stem = Path(track_name).name
    return stem.split(PACKAGE_SEPARATOR, 1)[0] if PACKAGE_SEPARATOR in stem else ""


@dataclass
class Part:
    """One side of the split: windows, their class, and the track index of each window (-1: none)."""

    x: np.ndarray
    y: np.ndarray
    track: np.ndarray

    def __len__(self) -> int:
        return int(self.y.size)


@dataclass
class Dataset:
    labels: list[str]
    train: Part
    val: Part
    test: Part
    kind: str
    """``npz``, ``folder`` or ``synthetic``."""
    source: str
    tracks: list[str] = field(default_factory=list)
    """Track names (relative paths) indexed by ``Part.track``; empty for an npz."""
    track_labels: list[int] = field(default_factory=list)
    fingerprint: str = ""
    split: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    """The group of every track (artist, sub-folder, package) when the split is grouped."""

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    def describe(self) -> dict[str, Any]:
        """What the model card records about the data."""
        return {
            "kind": self.kind,
            "source": self.source,
            "synthetic": self.synthetic,
            "fingerprint": self.fingerprint,
            "windows": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "windows_per_class": {
                part: {self.labels[c]: int(n) for c, n in
                       enumerate(np.bincount(getattr(self, part).y, minlength=len(self.labels)))}
                for part in ("train", "val", "test")
            },
            "split": self.split,
            "skipped_files": self.skipped,
        }


def _check_windows(x: np.ndarray, what: str, window: int, allow_empty: bool = False) -> np.ndarray:
    if allow_empty and x.size == 0:
        return np.zeros((0, window), dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != window:
        raise DataError(
            f"{what} has shape {x.shape} but the model takes windows of {window} samples "
            f"(expected (n, {window})); re-cut the data or pass --window {x.shape[-1]}"
        )
    if x.shape[0] < 2:
        raise DataError(f"{what} holds fewer than two windows; it needs both classes")
    check_finite(x, what)
    return x.astype(np.float32, copy=False)


def _resolve_labels(labels: list[str] | None, n: int, what: str) -> list[str]:
    if labels is None:
        if n == 2:
            return list(DEFAULT_TWO_LABELS)
        raise UserError(f"{what} has {n} classes; name them with --labels a,b,...")
    if len(labels) != n:
        raise UserError(f"--labels names {len(labels)} classes but {what} has {n}")
    return labels


def load_npz(path: Path, labels: list[str] | None, window: int, seed: int,
             val_fraction: float, test_only: bool = False) -> Dataset:
    """Seeds' layout: ``train`` and ``test``, each first half class 0, second half class 1.

    ``test_only`` (evaluation): ``train`` may be empty or missing; only ``test`` is read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc}); check the file") from exc
    if test_only:
        arrays.setdefault("train", np.zeros((0, window), dtype=np.float32))
    for name in ("train", "test"):
        if name not in arrays:
            raise DataError(
                f"{path} has no array '{name}' (it has: {', '.join(sorted(arrays)) or 'none'}); "
                "the seeds' layout needs arrays 'train' and 'test' of shape (n, window)"
            )
    names = _resolve_labels(labels, 2, str(path))
    parts = {}
    for name in ("train", "test"):
        x = _check_windows(arrays[name], f"{path}: array '{name}'", window,
                           allow_empty=test_only and name == "train")
        y = np.zeros(x.shape[0], dtype=np.int64)
        y[x.shape[0] // 2 :] = 1
        parts[name] = (x, y)
    xtr, ytr = parts["train"]
    if ytr.size:
        tr_idx, val_idx = split_windows(ytr, val_fraction, seed)
    else:
        tr_idx = val_idx = np.zeros(0, dtype=np.int64)
    no_track = np.full  # windows of an npz carry no track identity
    return Dataset(
        labels=names,
        train=Part(xtr[tr_idx], ytr[tr_idx], no_track(tr_idx.size, -1)),
        val=Part(xtr[val_idx], ytr[val_idx], no_track(val_idx.size, -1)),
        test=Part(parts["test"][0], parts["test"][1], no_track(parts["test"][1].size, -1)),
        kind="npz",
        source=path.name,
        fingerprint=_fingerprint_arrays(xtr, parts["test"][0]),
        split={"method": "npz: 'test' array held out; validation = random "
               f"{val_fraction:.0%} of 'train' windows (seed {seed})"},
    )


def _fingerprint_arrays(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def _list_genres(root: Path) -> dict[str, list[Path]]:
    genres = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES
                       and (f.is_file() or f.is_symlink()))
        if files:
            genres[sub.name] = files
    if len(genres) < 2:
        found = ", ".join(genres) or "none"
        raise DataError(
            f"{root} needs at least two genre subfolders holding audio files (found: {found}); "
            "arrange it as DATA/<genre>/<track>.wav|flac|ogg|mp3"
        )
    return genres


def load_folder(root: Path, labels: list[str] | None, rate: int, window: int, hop: int,
                seed: int, val_fraction: float, test_fraction: float,
                cache: AudioCache | None, all_test: bool = False,
                group_by: str | None = None) -> Dataset:
    """Genre subfolders → Dataset split by track (by group with ``group_by``: ``folder``,
    ``artist`` or ``package``, see grouping.py); ``all_test``: every track is test data."""
    genres = _list_genres(root)
    if labels is not None:
        unknown = sorted(set(labels) - set(genres))
        if unknown:
            raise DataError(f"--labels names {', '.join(unknown)} but {root} has no such "
                            f"subfolder with audio (it has: {', '.join(genres)})")
        genres = {g: genres[g] for g in labels}
    names = list(genres)
    tracks: list[str] = []
    track_labels: list[int] = []
    track_windows: list[np.ndarray] = []
    skipped: list[str] = []
    digest = hashlib.sha256()
    for gi, genre in enumerate(names):
        for path in genres[genre]:
            rel = str(path.relative_to(root))
            try:
                mono = _decode(path, rate, cache)
            except UserError as exc:
                log.warning("skipping %s", exc)
                skipped.append(f"{rel}: {exc}")
                continue
            _, wins = audio_to_windows(mono, rate, rate, window, hop)
            wins = drop_silent(wins)
            if wins.shape[0] == 0:
                msg = f"{rel}: shorter than one {window / rate:g}-s window, or digital silence"
                log.warning("skipping %s", msg)
                skipped.append(msg)
                continue
            digest.update(rel.encode() + hashlib.sha256(mono.tobytes()).digest())
            tracks.append(rel)
            track_labels.append(gi)
            track_windows.append(wins)
    if skipped:
        log.warning("%d file(s) skipped, %d used", len(skipped), len(tracks))
    counts = np.bincount(np.asarray(track_labels, dtype=np.int64), minlength=len(names))
    for gi, genre in enumerate(names):
        if counts[gi] == 0:
            raise DataError(f"genre folder '{genre}' has no readable audio of at least one "
                            "window; add recordings or remove the folder")
    tl = np.asarray(track_labels)
    groups: list[str] = []
    if group_by:
        from .grouping import group_names, grouped_split

        groups = group_names(tracks, group_by, root)
    if all_test:
        assign = ["test"] * len(tracks)
    elif group_by:
        assign = grouped_split(groups, track_labels, [len(w) for w in track_windows],
                               test_fraction, seed)
    else:
        assign = split_tracks(tl, test_fraction, val_fraction, seed, names, tracks)
    parts = {}
    for side in ("train", "val", "test"):
        ids = [i for i in range(len(tracks)) if assign[i] == side]
        parts[side] = Part(
            np.concatenate([track_windows[i] for i in ids]) if ids else np.zeros((0, window),
                                                                                  np.float32),
            np.concatenate([np.full(track_windows[i].shape[0], tl[i]) for i in ids]).astype(
                np.int64) if ids else np.zeros(0, np.int64),
            np.concatenate([np.full(track_windows[i].shape[0], i) for i in ids]).astype(
                np.int64) if ids else np.zeros(0, np.int64),
        )
    method = ("every track is test data (--all)" if all_test else
              f"by {group_by} (no {group_by} on both sides), genres spread over "
              f"{max(2, round(1 / test_fraction))} folds, seed {seed}, one fold held out, "
              "validation whole groups" if group_by else
              f"by track, stratified per genre, seed {seed}, test {test_fraction:.0%}, "
              f"validation {val_fraction:.0%} of each genre's tracks")
    split = {
        "method": method,
        "hop_samples": hop,
        "test_fraction": test_fraction,
        "val_fraction": val_fraction,
        **({"group_by": group_by} if group_by else {}),
        **{side: sorted(tracks[i] for i in range(len(tracks)) if assign[i] == side)
           for side in ("train", "val", "test")},
    }
    return Dataset(labels=names, train=parts["train"], val=parts["val"], test=parts["test"],
                   kind="folder", source=root.name, tracks=tracks, track_labels=track_labels,
                   fingerprint=digest.hexdigest(), split=split, skipped=skipped, groups=groups)


def drop_silent(wins: np.ndarray) -> np.ndarray:
    """Windows below SILENCE_RMS carry no genre: they are left out of training and evaluation
    (the daemon reports silence separately)."""
    rms = np.sqrt(np.mean(np.square(wins, dtype=np.float64), axis=1))
    return wins[rms >= SILENCE_RMS]


def _decode(path: Path, rate: int, cache: AudioCache | None) -> np.ndarray:
    """File → mono float32 at ``rate`` (through the daemon's resampler), cached."""
    if cache is not None:
        hit = cache.get(path, rate)
        if hit is not None:
            return hit
    frames, rate_in = read_audio(path)
    mono = audio_to_model_rate(frames, rate_in, rate).astype(np.float32, copy=False)
    if cache is not None:
        cache.put(path, rate, mono)
    return mono


def load_synthetic(n_genres: int, rate: int, window: int, hop: int, seed: int,
                   val_fraction: float, test_fraction: float) -> Dataset:
    if n_genres < 2:
        raise DataError("synthetic:N needs N >= 2 genres")
    names = synthetic_labels(n_genres)
    rng = np.random.default_rng(seed)
    tracks, track_labels, track_windows = [], [], []
    for gi, genre in enumerate(names):
        for k in range(SYNTHETIC_TRACKS_PER_GENRE):
            sig = synthetic_track(gi, rate, SYNTHETIC_TRACK_SECONDS, rng)
            _, wins = audio_to_windows(sig, rate, rate, window, hop)
            tracks.append(f"{genre}/synthetic{k:02d}")
            track_labels.append(gi)
            track_windows.append(wins)
    tl = np.asarray(track_labels)
    assign = split_tracks(tl, test_fraction, val_fraction, seed, names, tracks)
    parts = {}
    for side in ("train", "val", "test"):
        ids = [i for i in range(len(tracks)) if assign[i] == side]
        parts[side] = Part(np.concatenate([track_windows[i] for i in ids]),
                           np.concatenate([np.full(len(track_windows[i]), tl[i]) for i in ids]),
                           np.concatenate([np.full(len(track_windows[i]), i) for i in ids]))
    return Dataset(
        labels=names, train=parts["train"], val=parts["val"], test=parts["test"],
        kind="synthetic", source=f"synthetic:{n_genres}", tracks=tracks,
        track_labels=track_labels, fingerprint=f"synthetic:{n_genres}:seed{seed}",
        split={"method": f"by track, stratified per genre, seed {seed}",
               **{side: sorted(tracks[i] for i in range(len(tracks)) if assign[i] == side)
                  for side in ("train", "val", "test")}},
    )


def load_dataset(spec: str, labels: list[str] | None = None, rate: int = 400,
                 window: int = 1200, hop: int = 400, seed: int = 0, val_fraction: float = 0.1,
                 test_fraction: float = 0.25, cache: AudioCache | None = None,
                 test_only: bool = False, all_tracks: bool = False,
                 group_by: str | None = None) -> Dataset:
    """DATA argument → Dataset. Raises a one-line UserError for bad data.

    ``test_only`` (evaluation): an npz needs only its ``test`` array. ``all_tracks``: every track
    of a genre folder is test data (measuring a model on one's own collection)."""
    if spec == "synthetic" or spec.startswith("synthetic:"):
        try:
            n = int(spec.split(":", 1)[1]) if ":" in spec else 2
        except ValueError as exc:
            raise UserError(f"'{spec}': write synthetic or synthetic:N with N a number") from exc
        return load_synthetic(n, rate, window, hop, seed, val_fraction, test_fraction)
    path = Path(spec)
    if not path.exists():
        raise InputNotFound(f"data {path} does not exist; pass an .npz, a folder of genre "
                            "subfolders, or synthetic")
    if path.is_dir():
        return load_folder(path, labels, rate, window, hop, seed, val_fraction, test_fraction,
                           cache, all_test=all_tracks, group_by=group_by)
    if path.suffix.lower() == ".npz":
        return load_npz(path, labels, window, seed, val_fraction, test_only=test_only)
    raise DataError(f"{path} is neither an .npz nor a folder; pass an .npz in the seeds' layout, "
                    "a folder of genre subfolders, or synthetic")
