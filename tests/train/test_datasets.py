"""Loading: npz in the seeds' layout, genre folders of real audio files, synthetic; the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.audio.decode import read_audio
from genrecast.daemon.dsp.chain import audio_to_windows
from genrecast.daemon.errors import DataError, InputNotFound
from genrecast.train.cache import AudioCache
from genrecast.train.datasets import load_dataset

from .conftest import tone_file, write_npz


def test_npz_halves_are_the_classes(tmp_path: Path) -> None:
    d = load_dataset(str(write_npz(tmp_path / "d.npz", n=40)))
    assert d.labels == ["classical", "rock"]
    assert len(d.train) + len(d.val) == 40 and len(d.test) == 20
    assert list(d.test.y) == [0] * 10 + [1] * 10
    assert set(np.bincount(d.val.y)) == {2}  # stratified: 10% of 20 per class


def test_npz_labels_option(tmp_path: Path) -> None:
    d = load_dataset(str(write_npz(tmp_path / "d.npz")), labels=["jazz", "metal"])
    assert d.labels == ["jazz", "metal"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"test": None}, "no array 'test'"),
        ({"train": np.zeros((10, 1000), np.float32)}, "1000"),
        ({"train": np.full((10, 1200), np.nan, np.float32)}, "NaN"),
        ({"test": np.full((10, 1200), np.inf, np.float32)}, "NaN or infinite"),
    ],
)
def test_npz_bad_data(tmp_path: Path, override: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    arrays = {k: v for k, v in override.items() if v is not None}
    write_npz(path, **arrays)
    if any(v is None for v in override.values()):
        with np.load(path) as z:
            kept = {k: z[k] for k in z.files if k not in override}
        np.savez(path, **kept)
    with pytest.raises(DataError, match=message):
        load_dataset(str(path))


def test_folder_windows_are_the_daemons(genre_folder: Path, tmp_path: Path) -> None:
    d = load_dataset(str(genre_folder), hop=400, seed=1, cache=AudioCache(tmp_path / "c"))
    assert d.labels == ["classical", "rock"]
    assert len(d.tracks) == 6
    # Every file's windows are exactly what the daemon's DSP path cuts from it.
    for side in (d.train, d.val, d.test):
        for t in np.unique(side.track):
            frames, rate = read_audio(genre_folder / d.tracks[t])
            _, expect = audio_to_windows(frames, rate, 400, 1200, 400)
            np.testing.assert_allclose(side.x[side.track == t], expect, atol=1e-6)


def test_folder_cache_second_run_does_not_decode(genre_folder: Path, tmp_path: Path) -> None:
    first = AudioCache(tmp_path / "c")
    a = load_dataset(str(genre_folder), cache=first)
    assert first.misses == 6 and first.hits == 0
    second = AudioCache(tmp_path / "c")
    b = load_dataset(str(genre_folder), cache=second)
    assert second.hits == 6 and second.misses == 0
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert a.fingerprint == b.fingerprint


def test_split_is_by_track_and_recorded(genre_folder: Path) -> None:
    d = load_dataset(str(genre_folder), seed=3, cache=None)
    sides = {s: set(np.unique(getattr(d, s).track)) for s in ("train", "val", "test")}
    assert not sides["train"] & sides["test"] and not sides["train"] & sides["val"]
    assert not sides["val"] & sides["test"]
    assert len(sides["train"] | sides["val"] | sides["test"]) == 6
    for s in ("train", "val", "test"):  # stratified: every genre on every side
        assert set(np.unique(getattr(d, s).y)) == {0, 1}
        assert sorted(d.split[s]) == sorted(d.tracks[t] for t in sides[s])
    again = load_dataset(str(genre_folder), seed=3, cache=None)
    assert again.split == d.split


def test_unreadable_and_empty_files_are_skipped_and_counted(genre_folder: Path,
                                                            caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    (genre_folder / "rock" / "broken.mp3").write_bytes(b"this is not audio")
    tone_file(genre_folder / "classical" / "empty.wav", 44_100, 0.0, 1, 100.0)
    d = load_dataset(str(genre_folder), cache=None)
    assert len(d.skipped) == 2 and len(d.tracks) == 6
    assert "2 file(s) skipped" in caplog.text


def test_nan_file_is_skipped(genre_folder: Path) -> None:
    path = tone_file(genre_folder / "rock" / "nan.wav", 44_100, 4.0, 1, 100.0, subtype="FLOAT")
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32")
    data[100] = np.nan
    sf.write(str(path), data, rate, subtype="FLOAT")
    d = load_dataset(str(genre_folder), cache=None)
    assert any("NaN" in s for s in d.skipped)


def test_empty_and_single_genre_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="at least two genre subfolders"):
        load_dataset(str(tmp_path / "empty"))
    tone_file(tmp_path / "one" / "rock" / "a.wav", 44_100, 4.0, 1, 100.0)
    with pytest.raises(DataError, match="at least two genre subfolders"):
        load_dataset(str(tmp_path / "one"))


def test_genre_with_only_bad_files(genre_folder: Path) -> None:
    for f in (genre_folder / "rock").iterdir():
        f.write_bytes(b"")
    with pytest.raises(DataError, match="'rock' has no readable audio"):
        load_dataset(str(genre_folder), cache=None)


def test_too_few_tracks_for_a_track_split(tmp_path: Path) -> None:
    for g in ("classical", "rock"):
        for i in range(2):
            tone_file(tmp_path / "m" / g / f"{i}.wav", 44_100, 4.0, 1, 80.0 + 20 * i)
    with pytest.raises(DataError, match="at least 3"):
        load_dataset(str(tmp_path / "m"), cache=None)


def test_missing_and_unknown_data(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound):
        load_dataset(str(tmp_path / "nope"))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="neither an .npz nor a folder"):
        load_dataset(str(tmp_path / "x.txt"))


def test_synthetic_is_labelled_and_split_by_track() -> None:
    d = load_dataset("synthetic:3", seed=2)
    assert d.labels == ["classical", "rock", "electronic"] and d.synthetic
    assert not set(d.train.track) & set(d.test.track)
    assert np.isfinite(d.train.x).all() and d.train.x.shape[1] == 1200
