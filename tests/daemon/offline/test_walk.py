"""The folder walk: which files a ``classify PATH...`` run covers, in which order."""

from __future__ import annotations

from pathlib import Path

import pytest
from genrecast.daemon.errors import InputNotFound
from genrecast.daemon.offline.walk import audio_files


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_folders_expand_to_their_audio_files_sorted(tmp_path: Path) -> None:
    _touch(tmp_path, "b.mp3", "a.WAV", "c.flac", "notes.txt", "cover.jpg", "._a.mp3", ".hidden.ogg",
           "sub/d.ogg", "sub/deeper/e.m4a")
    flat = audio_files([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in flat] == ["a.WAV", "b.mp3", "c.flac"]
    deep = audio_files([tmp_path], recursive=True)
    assert [p.relative_to(tmp_path).as_posix() for p in deep] == [
        "a.WAV", "b.mp3", "c.flac", "sub/d.ogg", "sub/deeper/e.m4a"]


def test_files_are_kept_as_named_and_in_order(tmp_path: Path) -> None:
    _touch(tmp_path, "x.dat", "folder/y.wav")
    named = [tmp_path / "x.dat", tmp_path / "missing.wav", tmp_path / "folder"]
    # A file named on the command line counts whatever its suffix; a missing one is reported later.
    assert audio_files(named) == [tmp_path / "x.dat", tmp_path / "missing.wav",
                                  tmp_path / "folder" / "y.wav"]


def test_nothing_to_classify_is_one_clear_error(tmp_path: Path) -> None:
    _touch(tmp_path, "sub/song.mp3", "readme.txt")
    with pytest.raises(InputNotFound, match="no audio files"):
        audio_files([tmp_path])
    assert audio_files([tmp_path], recursive=True) == [tmp_path / "sub" / "song.mp3"]
