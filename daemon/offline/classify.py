"""``genrecast classify``: the daemon's pipeline on whole files, as fast as possible.

Decode the whole file, cut every window with ``audio_to_windows`` (the one DSP path), classify them
in one batched call, then run the same smoother as the live daemon to find the genre changes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from genrecast.daemon.audio.decode import read_audio
from genrecast.daemon.dsp.chain import audio_to_windows
from genrecast.daemon.engine.smoothing import Smoother, rms_dbfs
from genrecast.daemon.model.classifier import Classifier
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


def classify_file(path: Path, classifier: Classifier, decisions: DecisionSettings) -> Timeline:
    card = classifier.card
    frames, rate = read_audio(path)
    hop = max(1, round(decisions.hop_s * card.sample_rate_hz))
    starts, windows = audio_to_windows(frames, rate, card.sample_rate_hz, card.window_samples, hop)
    probs = classifier.predict(windows) if len(windows) else np.zeros((0, len(card.labels)))
    start_s = starts / card.sample_rate_hz
    end_s = start_s + card.window_seconds
    smoother = Smoother(card.labels, decisions)
    smoothed: list[np.ndarray] = []
    levels: list[float] = []
    genre: list[str | None] = []
    changes: list[dict[str, object]] = []
    for i in range(len(windows)):
        level = rms_dbfs(windows[i])
        d = smoother.update(probs[i], level, float(end_s[i]))
        smoothed.append(d.smoothed)
        levels.append(level)
        genre.append(d.genre)
        if d.changed:
            changes.append({"at_s": round(float(end_s[i]), 3), "genre": d.genre,
                            "previous": d.previous, "confidence": round(d.confidence, 4),
                            "previous_duration_s": d.previous_duration_s})
    return Timeline(path=path, labels=card.labels, start_s=start_s, end_s=end_s, probs=probs,
                    smoothed=np.asarray(smoothed).reshape(-1, len(card.labels)),
                    rms_db=np.asarray(levels), genre=genre, changes=changes,
                    duration_s=frames.shape[0] / rate)


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


def as_csv(timelines: list[Timeline]) -> str:
    labels = timelines[0].labels if timelines else ()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "start_s", "end_s", "label", "confidence", *labels, "rms_dbfs",
                     "genre"])
    for t in timelines:
        for i in range(len(t.start_s)):
            top = int(np.argmax(t.probs[i]))
            writer.writerow([t.path, f"{t.start_s[i]:.3f}", f"{t.end_s[i]:.3f}", t.labels[top],
                             f"{t.probs[i][top]:.4f}", *(f"{p:.4f}" for p in t.probs[i]),
                             f"{t.rms_db[i]:.1f}", t.genre[i] or ""])
    return buf.getvalue().rstrip("\n")
