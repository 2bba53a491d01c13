"""``--summary``: one row per file, decided by the majority of the non-silent windows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from genrecast.daemon.model.card import load_card
from genrecast.daemon.offline.classify import Timeline
from genrecast.daemon.offline.summary import file_summary, summary_csv, summary_csv_header, summary_json


def _timeline(labels: tuple[str, ...], tops: list[int], levels: list[float]) -> Timeline:
    n = len(tops)
    probs = np.full((n, len(labels)), 0.1 / max(len(labels) - 1, 1), dtype=np.float32)
    probs[np.arange(n), tops] = 0.9
    start = np.arange(n) * 0.5
    changes: list[dict[str, object]] = [{"at_s": 4.0, "genre": labels[0], "previous": None,
                                         "confidence": 0.9, "previous_duration_s": None}]
    return Timeline(path=Path("dir/song.flac"), labels=labels, start_s=start, end_s=start + 3,
                    probs=probs, smoothed=probs.copy(), rms_db=np.asarray(levels), genre=[None] * n,
                    changes=changes, duration_s=12.3456)


def test_majority_of_non_silent_windows(tone_model: Path) -> None:
    labels = load_card(tone_model).labels
    # The silent windows all say the second label: they must not count.
    t = _timeline(labels, [0, 0, 1, 0, 1, 1, 1, 1], [-20, -20, -20, -20, -90, -90, -90, -20])
    row = file_summary(t, silence_db=-60.0)
    assert row["genre"] == labels[0]
    assert row["windows"] == 8 and row["silent_windows"] == 3
    shares = row["shares"]
    assert isinstance(shares, dict) and set(shares) == set(labels)
    assert shares[labels[0]] == 0.6 and shares[labels[1]] == 0.4
    assert row["changes"] == [{"at_s": 4.0, "genre": labels[0]}]
    assert row["duration_s"] == 12.346


def test_all_silent_is_decided_silence(tone_model: Path) -> None:
    labels = load_card(tone_model).labels
    row = file_summary(_timeline(labels, [0, 1], [-100, -100]), silence_db=-60.0)
    assert row["genre"] == "silence" and set(row["shares"].values()) == {0.0}  # type: ignore[union-attr]


def test_csv_and_json_rows(tone_model: Path) -> None:
    labels = load_card(tone_model).labels
    row = file_summary(_timeline(labels, [1, 1, 0], [-10, -10, -10]), silence_db=-60.0)
    text = summary_csv_header(labels) + "\n" + summary_csv(row, labels) + "\n"
    (parsed,) = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed) == ["file", "duration_s", "windows", "silent_windows", "genre",
                            *(f"share_{lab}" for lab in labels), "changes", "change_list"]
    assert parsed["file"] == "dir/song.flac" and parsed["genre"] == labels[1]
    assert parsed["duration_s"] == "12.346" and parsed["windows"] == "3"
    assert abs(sum(float(parsed[f"share_{lab}"]) for lab in labels) - 1.0) < 1e-3
    assert parsed["changes"] == "1" and parsed["change_list"] == f"4.0:{labels[0]}"
    js = json.loads(summary_json(row))
    assert js["kind"] == "summary" and js["genre"] == labels[1] and js["file"] == "dir/song.flac"
    assert js["shares"] == row["shares"]
