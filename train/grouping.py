"""Groups of tracks that must stay on one side of a split: a package, an artist, a sub-folder.

A model that heard one track of an album learns the album (its mix, its instruments, its
recording); a split by track then flatters it. So every figure we trust splits by group:

- ``package``: the ``<package>__`` prefix of the track's file name (models/arrange_recordings.py),
  merged into composer groups where a table says so (``group_map``);
- ``folder``: the first sub-folder under the genre folder (``rock/<artist>/<album>/song.flac``);
- ``artist``: the file's artist tag (album artist first), read with ffprobe.

``assign_folds`` spreads groups over k folds so that each genre's groups are spread evenly.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from genrecast.daemon.errors import DataError, UserError

from .datasets import package_of

log = logging.getLogger(__name__)

GROUPINGS = ("package", "folder", "artist")
ARTIST_TAGS = ("album_artist", "artist", "composer")
VAL_GROUP_SHARE = 0.15  # of a genre's training windows, in whole groups
MIN_GROUPS_FOR_GROUP_VAL = 4  # fewer: validation takes a share of the genre's tracks instead


def artist_of(path: Path) -> str:
    """The file's album artist, artist or composer tag ("" when it has none)."""
    if shutil.which("ffprobe") is None:
        raise UserError("--group-by artist reads tags with ffprobe, which is not installed; "
                        "install ffmpeg or group by folder")
    try:
        out = subprocess.run(["ffprobe", "-v", "quiet", "-print_format", "json", "-show_format",
                              "-show_streams", str(path)], capture_output=True, timeout=30,
                             check=False).stdout
        info = json.loads(out or b"{}")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return ""
    tags: dict[str, str] = {}
    for holder in [info.get("format", {}), *info.get("streams", [])]:
        tags.update({k.lower(): v for k, v in holder.get("tags", {}).items()})
    return next((tags[t].strip() for t in ARTIST_TAGS if tags.get(t, "").strip()), "")


def group_names(tracks: Sequence[str], by: str, root: Path | None = None,
                group_map: Mapping[str, str] | None = None) -> list[str]:
    """The group of every track (relative paths ``genre/...``), by ``package``, ``folder`` or
    ``artist``. A track without one (no sub-folder, no tag) is its own group, and says so."""
    if by not in GROUPINGS:
        raise UserError(f"--group-by {by}: pick one of {', '.join(GROUPINGS)}")
    out = []
    lonely = 0
    for name in tracks:
        parts = Path(name).parts
        if by == "package":
            group = package_of(name)
            group = (group_map or {}).get(group, group)
        elif by == "folder":
            group = parts[1] if len(parts) > 2 else ""
        else:
            if root is None:
                raise UserError("--group-by artist needs the data folder")
            group = artist_of(root / name)
        if not group:
            lonely += 1
            group = f"track:{name}"
        out.append(f"{parts[0]}/{group}" if by != "package" and not group.startswith("track:")
                   else group)
    if lonely:
        log.warning("%d of %d tracks have no %s and are each their own group", lonely,
                    len(tracks), by)
    return out


def assign_folds(groups: Sequence[str], track_labels: Sequence[int], k: int, seed: int,
                 weights: Sequence[int] | None = None) -> dict[str, int]:
    """{group: fold} for ``k`` folds: groups with the rarest genres are placed first, each in the
    fold that holds the fewest groups of its genres (then the fewest windows), ties broken by a
    seeded order. Every group is in exactly one fold."""
    if k < 2:
        raise UserError(f"--folds {k}: a grouped split needs at least 2 folds")
    genres_of: dict[str, set[int]] = {}
    size: dict[str, int] = {}
    for i, (g, y) in enumerate(zip(groups, track_labels, strict=True)):
        genres_of.setdefault(g, set()).add(int(y))
        size[g] = size.get(g, 0) + (weights[i] if weights is not None else 1)
    if len(genres_of) < k:
        raise DataError(f"{len(genres_of)} groups cannot fill {k} folds; use fewer folds or "
                        "group more finely")
    per_genre = {c: sum(1 for s in genres_of.values() if c in s)
                 for c in set().union(*genres_of.values())}
    rng = np.random.default_rng(seed)
    tiebreak = {g: float(v) for g, v in zip(sorted(genres_of), rng.random(len(genres_of)),
                                            strict=True)}
    order = sorted(genres_of, key=lambda g: (min(per_genre[c] for c in genres_of[g]),
                                             -size[g], tiebreak[g]))
    count = np.zeros((k, max(per_genre) + 1), dtype=np.int64)
    load = np.zeros(k)
    fold_of: dict[str, int] = {}
    for g in order:
        cs = sorted(genres_of[g])
        cost = [(int(count[f, cs].sum()), load[f], f) for f in range(k)]
        f = min(cost)[2]
        fold_of[g] = f
        count[f, cs] += 1
        load[f] += size[g]
    return fold_of


def validation_tracks(tracks_by_group: Mapping[str, list[int]], labels_of: Sequence[int],
                      windows_of: Mapping[int, int], seed: int) -> set[int]:
    """Evidence tracks held out for early stopping: whole groups per genre (about
    VAL_GROUP_SHARE of its windows) where the genre has MIN_GROUPS_FOR_GROUP_VAL groups or more,
    otherwise about a tenth of its tracks."""
    rng = np.random.default_rng(seed)
    val: set[int] = set()
    genres = sorted({labels_of[t] for ts in tracks_by_group.values() for t in ts})
    for c in genres:
        groups = sorted(g for g, ts in tracks_by_group.items()
                        if any(labels_of[t] == c for t in ts))
        of_c = [t for g in groups for t in tracks_by_group[g] if labels_of[t] == c]
        total = sum(windows_of[t] for t in of_c)
        taken = 0
        if len(groups) >= MIN_GROUPS_FOR_GROUP_VAL:
            target = VAL_GROUP_SHARE * total
            for g in rng.permutation(groups):  # whole groups, never far past the target
                ts = [t for t in tracks_by_group[str(g)] if labels_of[t] == c]
                size = sum(windows_of[t] for t in ts)
                if taken + size <= 1.5 * target:
                    val.update(ts)
                    taken += size
                if taken >= target:
                    break
            if not taken:  # every group is bigger than that: the smallest one
                smallest = min(groups, key=lambda g: sum(windows_of[t] for t in tracks_by_group[g]))
                ts = [t for t in tracks_by_group[smallest] if labels_of[t] == c]
                val.update(ts)
                taken = sum(windows_of[t] for t in ts)
        if not taken and len(of_c) >= 3:  # too few groups, or each too big: a tenth of tracks
            val.update(int(t) for t in rng.permutation(of_c)[: max(1, round(0.1 * len(of_c)))])
    return val


def grouped_split(groups: Sequence[str], track_labels: Sequence[int], windows: Sequence[int],
                  test_fraction: float, seed: int) -> list[str]:
    """``train``/``val``/``test`` per track, never splitting a group: the test side is one fold of
    round(1 / test_fraction) (genres spread over folds), validation whole groups of the rest."""
    k = max(2, round(1.0 / test_fraction))
    fold_of = assign_folds(groups, track_labels, k, seed, weights=windows)
    assign = ["test" if fold_of[g] == 0 else "train" for g in groups]
    train_groups: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if assign[i] == "train":
            train_groups.setdefault(g, []).append(i)
    for i in validation_tracks(train_groups, track_labels, dict(enumerate(windows)), seed):
        assign[i] = "val"
    missing = sorted({track_labels[i] for i in range(len(groups))} -
                     {track_labels[i] for i in range(len(groups)) if assign[i] == "test"})
    if missing:
        raise DataError(f"{len(missing)} genre(s) have no group on the test side; a grouped split "
                        "needs at least two groups (artists, sub-folders) per genre: add some "
                        "or split by track")
    return assign
