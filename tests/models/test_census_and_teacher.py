"""The census import, archive carving and the teacher's rule, on small real inputs."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from genrecast.models.arrange_recordings import carve_ogg_streams, extract_member, load_table
from genrecast.models.import_census import CENSUS_MARKER, rows

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models"))
import teacher_labels  # noqa: E402  (a script: its teacher is not a dependency)

COLUMNS = ["package", "version", "path_in_package", "genre", "confidence", "evidence",
           "composer_artist", "licence", "duration_s", "md5", "format", "title_tag",
           "artist_tag", "genre_tag", "duplicate_of"]


def _ogg(path: Path, freq: int) -> bytes:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency={freq}:duration=1", "-c:a", "libvorbis", str(path)],
                   check=True)
    return path.read_bytes()


def test_carve_ogg_streams_out_of_a_resource_file(tmp_path: Path) -> None:
    one, two = _ogg(tmp_path / "a.ogg", 440), _ogg(tmp_path / "b.ogg", 660)
    blob = b"qres\x00junk" + one + b"\x00" * 7 + two + b"tail"
    assert carve_ogg_streams(blob) == [one, two]
    archive = tmp_path / "x.rcc"
    archive.write_bytes(blob)
    got = extract_member(archive, "music/b.ogg", hashlib.md5(two).hexdigest(), tmp_path)
    assert got.read_bytes() == two
    with pytest.raises(FileNotFoundError):
        extract_member(archive, "music/c.ogg", "0" * 32, tmp_path)


def _census(path: Path, entries: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, delimiter="\t")
        w.writeheader()
        for e in entries:
            w.writerow({c: e.get(c, "") for c in COLUMNS})
    return path


def test_census_rows_labels_leave_outs_and_groups(tmp_path: Path) -> None:
    census = _census(tmp_path / "tracks.tsv", [
        {"package": "openclonk-data", "path_in_package": "m/Motorway.ogg", "genre": "rock",
         "confidence": "high", "evidence": "tag genre=Rock", "md5": "1"},
        {"package": "bb", "path_in_package": "m/a.mod", "genre": "chiptune",
         "confidence": "format", "md5": "2"},
        {"package": "lincity-ng-data", "path_in_package": "blues.ogg", "genre": "blues",
         "confidence": "medium", "md5": "3"},
        {"package": "tuxmath-data", "path_in_package": "game.mod", "genre": "chiptune",
         "confidence": "format", "md5": "4"},
        {"package": "tuxtype-data", "path_in_package": "game.mod", "genre": "chiptune",
         "confidence": "format", "md5": "4"},
        {"package": "a7xpg-data", "path_in_package": "bgm1.ogg", "genre": "unknown",
         "confidence": "none", "md5": "5"},
        {"package": "gcompris-qt-data", "path_in_package": "r.rcc::music/x.ogg",
         "genre": "unknown", "confidence": "none", "md5": "6"},
        {"package": "planetblupi-music-ogg", "path_in_package": "m.ogg", "genre": "unknown",
         "confidence": "none", "md5": "7"},
    ])
    teacher = {("gcompris-qt-data", "r.rcc::music/x.ogg"): ("ambient", "MTT_musicnn: ...")}
    out = {(r["package"], r["path"]): r for r in rows(census, teacher)}
    assert out[("openclonk-data", "m/Motorway.ogg")]["genre"] == "rock"
    assert out[("bb", "m/a.mod")]["genre"] == "chiptune"
    assert "another style" in out[("lincity-ng-data", "blues.ogg")]["why"]
    assert out[("tuxtype-data", "game.mod")].get("left_out") == "true"  # the md5 copy
    assert out[("tuxmath-data", "game.mod")]["group"] == "pajama-crisis"
    unlabelled = out[("a7xpg-data", "bgm1.ogg")]
    assert unlabelled["label_source"] == "teacher" and unlabelled["left_out"] == "true"
    assert unlabelled["group"] == "kenta-cho"
    labelled = out[("gcompris-qt-data", "r.rcc")]
    assert (labelled["member"], labelled["genre"]) == ("music/x.ogg", "ambient")
    assert "left_out" not in labelled
    assert out[("planetblupi-music-ogg", "m.ogg")]["left_out"] == "true"


def test_the_shipped_table_names_every_track_once() -> None:
    tracks = load_table()
    assert len({t.name for t in tracks}) == len(tracks)
    assert {t.label_source for t in tracks} == {"evidence", "teacher"}
    assert all(t.genre for t in tracks if not t.left_out)
    text = (Path(__file__).resolve().parents[2] / "models" / "recordings.toml").read_text()
    assert text.count(CENSUS_MARKER) == 1


def test_teacher_rule() -> None:
    names = sorted(teacher_labels.GENRE_TAGS)  # ambient, classical, electronic, rock
    rock = np.tile([0.05, 0.05, 0.1, 0.6], (10, 1))
    assert teacher_labels.decide(rock)[0] == "rock"
    weak = np.tile([0.05, 0.05, 0.1, 0.2], (10, 1))
    assert teacher_labels.decide(weak) == ("", teacher_labels.decide(weak)[1])
    assert "not confident" in teacher_labels.decide(weak)[1]
    split = np.vstack([np.tile([0.0, 0.6, 0.0, 0.1], (5, 1)), np.tile([0.0, 0.1, 0.0, 0.6], (5, 1))])
    assert "not consistent" in teacher_labels.decide(split)[1]
    tags = sorted({t for ts in teacher_labels.GENRE_TAGS.values() for t in ts}) + ["guitar"]
    taggram = np.zeros((2, len(tags)))
    taggram[0, tags.index("rock")] = 0.2
    taggram[0, tags.index("metal")] = 0.7
    taggram[0, tags.index("guitar")] = 0.9  # not a genre tag
    scores = teacher_labels.genre_scores(taggram, tags)
    assert scores[0, names.index("rock")] == pytest.approx(0.7)  # the highest of its tags
    assert scores[0].sum() == pytest.approx(0.7)


def test_sets_of_the_table() -> None:
    from genrecast.models.arrange_recordings import select

    tracks = load_table()
    evidence, teacher, unlabelled = (select(tracks, s) for s in ("evidence", "teacher",
                                                                   "unlabelled"))
    assert all(t.label_source == "evidence" and t.genre for t in evidence)
    assert all(t.label_source == "teacher" and t.genre for t in teacher)
    assert {t.name for t in teacher} <= {t.name for t in unlabelled}
    assert all(not t.genre for t in unlabelled)  # the teacher hears them without a label
    assert not {t.name for t in evidence} & {t.name for t in unlabelled}
