"""``genrecast classify``: one file's timeline (windows, probabilities, decisions) and its formats.

The windows come from the streaming pipeline (``pipeline.py``: decoded in blocks, cut by the one DSP
path, classified in batches); the same smoother as the live daemon finds the genre changes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from genrecast.daemon.engine.smoothing import Smoother
from genrecast.daemon.settings import DecisionSettings


@dataclass
class Timeline:
    """Predictions of one file and the genre decisions over time."""

    path: Path
    labels: tuple[str, ...]
    start_s: np.ndarray
    end_s: np.ndarray
    probs: np.ndarray
    """n × labels raw probabilities."""
    smoothed: np.ndarray
    rms_db: np.ndarray
    genre: list[str | None]
    """Decided genre after each window."""
    changes: list[dict[str, object]]
    duration_s: float


def build_timeline(path: Path, labels: tuple[str, ...], window_seconds: float, rate_hz: int,
                   starts: np.ndarray, probs: np.ndarray, levels_db: np.ndarray, duration_s: float,
                   decisions: DecisionSettings) -> Timeline:
    """A file's windows, classified, through the live daemon's smoother (same decisions)."""
    start_s = starts / rate_hz
    end_s = start_s + window_seconds
    smoother = Smoother(labels, decisions)
    smoothed: list[np.ndarray] = []
    genre: list[str | None] = []
    changes: list[dict[str, object]] = []
    for i in range(len(starts)):
        d = smoother.update(probs[i], float(levels_db[i]), float(end_s[i]))
        smoothed.append(d.smoothed)
        genre.append(d.genre)
        if d.changed:
            changes.append({"at_s": round(float(end_s[i]), 3), "genre": d.genre,
                            "previous": d.previous, "confidence": round(d.confidence, 4),
                            "previous_duration_s": d.previous_duration_s})
    return Timeline(path=path, labels=labels, start_s=start_s, end_s=end_s,
                    probs=probs.reshape(-1, len(labels)),
                    smoothed=np.asarray(smoothed).reshape(-1, len(labels)),
                    rms_db=np.asarray(levels_db, dtype=np.float64), genre=genre, changes=changes,
                    duration_s=duration_s)


def as_text(t: Timeline) -> str:
    lines = [f"{t.path}: {len(t.start_s)} windows, {t.duration_s:.1f} s"]
    change_at = {c["at_s"]: c for c in t.changes}
    for i in range(len(t.start_s)):
        top = int(np.argmax(t.probs[i]))
        probs = " ".join(f"{lab}={p:.2f}" for lab, p in zip(t.labels, t.probs[i], strict=True))
        line = (f"  {t.start_s[i]:7.1f}-{t.end_s[i]:<7.1f} {t.labels[top]:<12} "
                f"{t.probs[i][top]:.2f}  [{probs}]")
        change = change_at.get(round(float(t.end_s[i]), 3))
        if change is not None:
            line += f"  → {change['genre']}"
        lines.append(line)
    summary = ", ".join(f"{c['at_s']:.1f} s {c['genre']}" for c in t.changes) or "no decision"
    lines.append(f"  genre changes: {summary}")
    return "\n".join(lines)


def as_json_lines(t: Timeline) -> str:
    out = []
    for i in range(len(t.start_s)):
        top = int(np.argmax(t.probs[i]))
        out.append(json.dumps({
            "kind": "prediction", "file": str(t.path), "start_s": round(float(t.start_s[i]), 6),
            "end_s": round(float(t.end_s[i]), 6), "label": t.labels[top],
            "confidence": round(float(t.probs[i][top]), 6),
            "probabilities": {lab: round(float(p), 6)
                              for lab, p in zip(t.labels, t.probs[i], strict=True)},
            "rms_dbfs": round(max(float(t.rms_db[i]), -200.0), 2), "genre": t.genre[i]}))
    for change in t.changes:
        out.append(json.dumps({"kind": "genre", "file": str(t.path), **change}))
    return "\n".join(out)


def csv_header(labels: tuple[str, ...]) -> str:
    """The header line of ``--csv`` (one row per window)."""
    return _csv_line(["file", "start_s", "end_s", "label", "confidence", *labels, "rms_dbfs",
                      "genre"])


def csv_rows(t: Timeline) -> str:
    """One file's rows of ``--csv``, without a trailing newline."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i in range(len(t.start_s)):
        top = int(np.argmax(t.probs[i]))
        writer.writerow([t.path, f"{t.start_s[i]:.3f}", f"{t.end_s[i]:.3f}", t.labels[top],
                         f"{t.probs[i][top]:.4f}", *(f"{p:.4f}" for p in t.probs[i]),
                         f"{t.rms_db[i]:.1f}", t.genre[i] or ""])
    return buf.getvalue().rstrip("\n")


def _csv_line(row: list[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()


def as_csv(timelines: list[Timeline]) -> str:
    labels = timelines[0].labels if timelines else ()
    return "\n".join([csv_header(labels), *(csv_rows(t) for t in timelines)]).rstrip("\n")
