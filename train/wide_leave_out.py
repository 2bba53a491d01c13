"""Grouped k-fold leave-out of the wide model (the same folds and scores as grouped_leave_out).

The back end trains on log-mel patches (wide.py); float32 figures come from it, int8 figures from
the joined model converted to full int8 and fed the fold's raw windows again, at each gain.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cache import AudioCache
from .evaluate import converted_classifier
from .fit import NORMALISATION, subsample
from .grouped_leave_out import Corpus, fold_dataset, summarise
from .grouping import assign_folds
from .leave_out import pooled
from .robustness import with_gain
from .wide import WIDE_RATE_HZ, fit_back, join
from .wide_corpus import raw_windows

log = logging.getLogger(__name__)

def int8_model(front: Any, back: Any, labels: Sequence[str], representative: np.ndarray,
               seed: int, path: Path) -> Any:
    """The joined model as full int8 (calibrated on the front end's own windows), written to
    ``path``; its classifier."""
    return converted_classifier(join(front, back), "int8", representative, seed, labels,
                                WIDE_RATE_HZ, NORMALISATION, path)


def wide_grouped_leave_out(corpus: Corpus, paths: Sequence[Path], front: Any,
                           representative: np.ndarray, k: int,
                           epochs: int, patience: int, seed: int, max_windows: int | None,
                           cache: AudioCache | None,
                           gains_db: Sequence[float] = (-30.0, 0.0, 6.0)) -> dict[str, Any]:
    ev = corpus.evidence
    fold_of = assign_folds(corpus.evidence_groups, ev.track_labels, k, seed)
    every = pooled(ev)
    n = len(ev.labels)
    probs: dict[str, dict[str, np.ndarray]] = {
        "float32": {"+0": np.zeros((len(every), n), np.float32)},
        "int8": {f"{g:+g}": np.zeros((len(every), n), np.float32) for g in gains_db}}
    folds = []
    for f in range(k):
        started = time.monotonic()
        data = fold_dataset(corpus, fold_of, f, seed)
        keep = subsample(data.train.y, max_windows, seed)
        log.info("wide fold %d/%d: %d test windows, %d training (of %d)", f + 1, k,
                 len(data.test), keep.size, len(data.train))
        back, run, best = fit_back(data.train.x[keep], data.train.y[keep], data.val.x,
                                   data.val.y, n, epochs, patience, seed)
        at = np.isin(every.track, np.unique(data.test.track))
        probs["float32"]["+0"][at] = back.predict(data.test.x.astype(np.float32),
                                                 batch_size=256, verbose=0)
        with tempfile.TemporaryDirectory(prefix="genrecast-wide-") as tmp:
            clf = int8_model(front, back, ev.labels, representative, seed,
                             Path(tmp) / "int8.tflite")
            for t in np.unique(data.test.track):
                wins = raw_windows(paths[int(t)], cache)
                rows = np.flatnonzero(every.track == t)
                for g in gains_db:
                    probs["int8"][f"{g:+g}"][rows] = clf.predict(with_gain(wins, g))
        folds.append({"fold": f, "groups": sorted(g for g, v in fold_of.items() if v == f),
                      "test_windows": len(data.test), "train_windows": int(keep.size),
                      "epochs_run": run, "best_epoch": best,
                      "seconds": round(time.monotonic() - started, 1)})
    return summarise(probs, every, ev, folds, k)
