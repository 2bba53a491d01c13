"""Label the tracks without genre evidence with a pretrained tagger (the teacher), once.

The teacher is musicnn's MagnaTagATune tagger (PyPI ``musicnn``, ISC licence; 50 tags, 16 kHz
log-mel, 3-s patches). Its training data's terms are not stated, so it is used to label, never
shipped: its labels are committed as data (``models/teacher_labels.tsv``) and a rebuild reads
that file, without the teacher. It needs its own environment (it pins numpy<1.17 and TF1):

    python3 -m venv build/teacher-venv
    build/teacher-venv/bin/pip install tensorflow-cpu tf-keras librosa soundfile
    build/teacher-venv/bin/pip install --no-deps musicnn
    TF_USE_LEGACY_KERAS=1 build/teacher-venv/bin/python models/teacher_labels.py \\
        build/unlabelled build/recordings5 --out models/teacher_labels.tsv --zero-shot build/teacher.json

The rule, written down before any result was looked at:
- per 3-s patch, a genre's score is the highest probability among its tags: classical (classical,
  classic, opera, choir, choral), electronic (techno, electronic, dance), rock (rock, metal),
  ambient (ambient, new age). MTT has no chiptune tag: the teacher never labels chiptune;
- a track gets genre G when G has the highest mean score over the track's patches, that mean is at
  least ``MIN_SCORE`` (0.25), at least ``MIN_MARGIN`` (1.5) times the runner-up's, and G is the top
  genre of at least ``MIN_AGREEMENT`` (60 %) of the patches. Otherwise the track is left out.

Its front end is musicnn's own, with one fix: musicnn casts the mel spectrogram to float16 before
``log10(10000·mel + 1)``, which overflows to ``inf`` under numpy 2 (every track then gets the same
tags); here it stays float32. A failed checkpoint restore raises (musicnn's extractor hides it).

``--zero-shot`` also tags the evidence-labelled folder (``GENRE/<package>__<track>.flac``) and
writes how many of each track's 3-s patches (its first minute) it calls each genre
(``models/teacher_zero_shot.json``), so the teacher's own zero-shot figure can be computed on
the same grouped folds as our models (benchmarks/grouped_leave_out.py --teacher).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("teacher")

SR_HZ, FFT_SIZE, FFT_HOP, N_MELS, N_FRAMES = 16000, 512, 256, 96, 187
TEACHER = "MTT_musicnn"
GENRE_TAGS = {
    "ambient": ("ambient", "new age"),
    "classical": ("classical", "classic", "opera", "choir", "choral"),
    "electronic": ("techno", "electronic", "dance"),
    "rock": ("rock", "metal"),
}
MIN_SCORE, MIN_MARGIN, MIN_AGREEMENT = 0.25, 1.5, 0.6
ZERO_SHOT_PATCHES = 20  # the zero-shot figure hears each evidence track's first minute


def load_teacher() -> tuple[Any, Any, Any, list[str]]:
    """(session, input placeholder, sigmoid output, tag names) of the MTT tagger."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    from musicnn import configuration, models

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS])
        training = tf.compat.v1.placeholder_with_default(False, [])
        y = models.define_model(x, training, TEACHER, len(configuration.MTT_LABELS))[0]
        out = tf.nn.sigmoid(y)
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    ckpt = str(Path(models.__file__).parent / TEACHER) + "/"
    tf.compat.v1.train.Saver().restore(sess, ckpt)  # raises when the checkpoint does not load
    return sess, x, out, list(configuration.MTT_LABELS)


def patches(path: Path) -> np.ndarray:
    """(n, N_FRAMES, N_MELS) log-mel patches of a 16-kHz file, musicnn's front end in float32."""
    import librosa
    import soundfile as sf

    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != SR_HZ:
        mono = librosa.resample(mono, orig_sr=rate, target_sr=SR_HZ)
    mel = librosa.feature.melspectrogram(y=mono, sr=SR_HZ, hop_length=FFT_HOP, n_fft=FFT_SIZE,
                                         n_mels=N_MELS).T.astype(np.float32)
    rep = np.log10(10000.0 * mel + 1.0)
    n = rep.shape[0] // N_FRAMES
    return rep[: n * N_FRAMES].reshape(n, N_FRAMES, N_MELS)


def genre_scores(taggram: np.ndarray, tags: list[str]) -> np.ndarray:
    """(patches, 4) score of each genre of GENRE_TAGS (sorted), the highest of its tags."""
    cols = [[tags.index(t) for t in GENRE_TAGS[g]] for g in sorted(GENRE_TAGS)]
    return np.stack([taggram[:, c].max(axis=1) for c in cols], axis=1)


def decide(scores: np.ndarray) -> tuple[str, str]:
    """(genre or "", why) for one track's (patches, 4) genre scores, by the rule above."""
    names = sorted(GENRE_TAGS)
    mean = scores.mean(axis=0)
    order = np.argsort(mean)[::-1]
    top, second = int(order[0]), int(order[1])
    agree = float(np.mean(scores.argmax(axis=1) == top))
    margin = float(mean[top] / max(mean[second], 1e-6))
    figures = (f"{names[top]} {mean[top]:.2f}, runner-up {names[second]} {mean[second]:.2f}, "
               f"{agree:.0%} of {len(scores)} patches agree")
    if mean[top] < MIN_SCORE:
        return "", f"not confident ({figures})"
    if margin < MIN_MARGIN or agree < MIN_AGREEMENT:
        return "", f"not consistent ({figures})"
    return names[top], f"MTT_musicnn: {figures}"


def tag_folder(folder: Path, sess: Any, x: Any, out: Any, tags: list[str],
               max_patches: int | None = None) -> dict[str, np.ndarray]:
    """{relative path: (patches, 4) genre scores} for every FLAC under ``folder`` (a file that
    cannot be read is reported and skipped); ``max_patches``: the first ones only."""
    result = {}
    files = sorted(f for f in folder.rglob("*.flac") if not f.name.endswith(".part.flac"))
    for k, f in enumerate(files):
        try:
            p = patches(f)[:max_patches]
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("teacher: skipping %s: %s", f, exc)
            continue
        if len(p) == 0:
            continue
        taggram = np.concatenate([sess.run(out, {x: p[i:i + 64]}) for i in range(0, len(p), 64)])
        result[str(f.relative_to(folder))] = genre_scores(taggram, tags)
        if k % 25 == 0:
            log.info("teacher: %d / %d files in %s", k + 1, len(files), folder)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("unlabelled", type=Path,
                    help="arrange_recordings --set unlabelled output (- to skip)")
    ap.add_argument("evidence", type=Path, nargs="?", help="the evidence-labelled genre folders")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("teacher_labels.tsv"))
    ap.add_argument("--zero-shot", type=Path, help="JSON of per-patch genre calls (evidence)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from arrange_recordings import load_table  # the table names every file the teacher hears

    by_name = {t.name: t for t in load_table() if t.label_source == "teacher"}
    sess, x, out, tags = load_teacher()
    scored = tag_folder(args.unlabelled, sess, x, out, tags) if args.unlabelled.name != "-" else {}
    with (args.out.open("w", newline="") if scored else open(os.devnull, "w")) as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["package", "path", "genre", "why"])
        for rel, scores in sorted(scored.items()):
            track = by_name.get(Path(rel).stem)
            if track is None:
                continue
            genre, why = decide(scores)
            full = f"{track.path}::{track.member}" if track.member else track.path
            w.writerow([track.package, full, genre, why])
    if args.evidence and args.zero_shot:
        names = sorted(GENRE_TAGS)
        calls = {rel: {names[i]: int(n) for i, n in enumerate(np.bincount(
            s.argmax(axis=1), minlength=len(names))) if n}
            for rel, s in tag_folder(args.evidence, sess, x, out, tags,
                                     ZERO_SHOT_PATCHES).items()}
        args.zero_shot.write_text(json.dumps(
            {"teacher": TEACHER, "genres": names, "rule": "top genre per 3-s patch (GENRE_TAGS)",
             "calls": calls}, indent=0))


if __name__ == "__main__":
    main()
