"""``--summary``: one row per file for a tagger (CSV, or JSON lines with ``--json``).

The decided genre is the majority of the non-silent windows' top labels (the track vote of
``genrecast evaluate``); ties go to the label the card names first. A file whose every window is
silent is decided ``silence``. The genre changes are the smoother's, as in the per-window output.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from genrecast.daemon.offline.classify import Timeline

SILENCE = "silence"


def file_summary(t: Timeline, silence_db: float) -> dict[str, object]:
    """Path, duration, decided genre, share of each label among non-silent windows, changes."""
    audible = t.rms_db >= silence_db
    tops = np.argmax(t.probs[audible], axis=1) if audible.any() else np.zeros(0, dtype=np.int64)
    counts = np.bincount(tops, minlength=len(t.labels))
    genre = t.labels[int(np.argmax(counts))] if tops.size else SILENCE
    shares = {lab: round(float(c) / tops.size, 4) if tops.size else 0.0
              for lab, c in zip(t.labels, counts, strict=True)}
    return {"file": str(t.path), "duration_s": round(t.duration_s, 3), "windows": len(t.start_s),
            "silent_windows": int((~audible).sum()), "genre": genre, "shares": shares,
            "changes": [{"at_s": c["at_s"], "genre": c["genre"]} for c in t.changes]}


def summary_json(row: dict[str, object]) -> str:
    return json.dumps({"kind": "summary", **row})


def summary_csv_header(labels: tuple[str, ...]) -> str:
    return _line(["file", "duration_s", "windows", "silent_windows", "genre",
                  *(f"share_{lab}" for lab in labels), "changes", "change_list"])


def summary_csv(row: dict[str, object], labels: tuple[str, ...]) -> str:
    """``change_list``: ``AT_S:GENRE`` for each change, separated by spaces."""
    shares = row["shares"]
    changes = row["changes"]
    assert isinstance(shares, dict) and isinstance(changes, list)
    return _line([row["file"], f"{row['duration_s']:.3f}", row["windows"], row["silent_windows"],
                  row["genre"], *(f"{shares[lab]:.4f}" for lab in labels), len(changes),
                  " ".join(f"{c['at_s']:.1f}:{c['genre']}" for c in changes)])


def _line(row: list[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()
