"""Grouped splits: a group never on both sides; genres spread over folds; groups read right."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.errors import DataError
from genrecast.train.grouping import (
    assign_folds,
    group_names,
    grouped_split,
    validation_tracks,
)

from .conftest import tone_file


def test_every_group_in_one_fold_and_genres_spread() -> None:
    # 3 genres: 10, 5 and 3 groups of 2 tracks each
    groups, labels = [], []
    for genre, n in enumerate((10, 5, 3)):
        for g in range(n):
            groups += [f"g{genre}-{g}"] * 2
            labels += [genre, genre]
    fold_of = assign_folds(groups, labels, 3, seed=1)
    assert set(fold_of) == set(groups)
    for genre, n in enumerate((10, 5, 3)):
        per_fold = np.bincount([fold_of[f"g{genre}-{g}"] for g in range(n)], minlength=3)
        assert per_fold.max() - per_fold.min() <= 1, (genre, per_fold)
    assert assign_folds(groups, labels, 3, seed=1) == fold_of  # reproducible


def test_too_few_groups_is_one_line() -> None:
    with pytest.raises(DataError, match="cannot fill 5 folds"):
        assign_folds(["a", "b"], [0, 1], 5, seed=0)


def test_grouped_split_keeps_groups_whole() -> None:
    groups = [f"artist{i // 3}" for i in range(36)]  # 12 artists, 3 tracks each
    labels = [(i // 3) % 2 for i in range(36)]
    assign = grouped_split(groups, labels, [10] * 36, test_fraction=0.25, seed=0)
    for g in set(groups):
        sides = {assign[i] for i in range(36) if groups[i] == g}
        assert len(sides) == 1, (g, sides)
    assert {labels[i] for i in range(36) if assign[i] == "test"} == {0, 1}
    assert "val" in assign and "train" in assign


def test_validation_takes_whole_groups_where_a_genre_has_many() -> None:
    by_group = {f"g{k}": [2 * k, 2 * k + 1] for k in range(8)}
    labels = [0] * 16
    val = validation_tracks(by_group, labels, {t: 100 for t in range(16)}, seed=3)
    assert val and all({2 * k, 2 * k + 1} <= val or not ({2 * k, 2 * k + 1} & val)
                       for k in range(8))


def test_group_names_by_package_folder_and_artist(tmp_path: Path) -> None:
    tracks = ["rock/pkg-a__one.flac", "rock/pkg-b__two.flac", "classical/pkg-c__x.flac"]
    assert group_names(tracks, "package", group_map={"pkg-a": "composer"}) == [
        "composer", "pkg-b", "pkg-c"]
    nested = ["rock/Band One/album/s1.flac", "rock/s2.flac"]
    assert group_names(nested, "folder") == ["rock/Band One", "track:rock/s2.flac"]
    src = tone_file(tmp_path / "t.wav", 8000, 1.0, 1, 200.0)
    tagged = tmp_path / "rock" / "a.flac"
    tagged.parent.mkdir()
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(src), "-metadata",
                    "artist=Some Band", str(tagged)], check=True)
    assert group_names(["rock/a.flac"], "artist", tmp_path) == ["rock/Some Band"]
