"""Model files from anywhere: truncated, bit-flipped, another model's file.

With the card of the intact model, any change is a hash mismatch: refused in-process before
LiteRT sees a byte (cheap: the bulk of the cases). With a recomputed card the file reaches the
probe, which loads it in a child process: a ModelError line, or a model that gives finite
probabilities; never a crash of this process (1 in ~150 single-bit flips segfaults LiteRT).
Each probe is a subprocess (~0.5 s), so CI runs few; ``GENRECAST_FUZZ_SCALE`` runs more.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.card import card_path_for, file_sha256, load_card
from genrecast.daemon.model.classifier import Classifier

from tests.support.common import REPO

from .conftest import budget
from .mutate import mutate

DATA = REPO / "tests" / "support" / "data"
TONE = DATA / "tone.tflite"
OTHER = REPO / "models" / "default.tflite"


def _damage(data: bytes, rng: np.random.Generator, case: int) -> bytes:
    kind = case % 3
    if kind == 0:  # truncated
        return data[: int(rng.integers(0, len(data)))]
    buf = bytearray(data)
    if kind == 1:  # one bit flipped
        i = int(rng.integers(0, len(buf)))
        buf[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(buf)
    return mutate(data, rng, rounds=3)


def test_damaged_model_with_the_intact_card_is_refused(tmp_path: Path,
                                                       fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(9)
    data = TONE.read_bytes()
    model = tmp_path / "m.tflite"
    shutil.copy(card_path_for(TONE), card_path_for(model))
    for case in range(budget(1500)):
        damaged = _damage(data, rng, case)
        model.write_bytes(damaged)
        try:
            load_card(model)
        except ModelError as exc:
            assert "\n" not in str(exc)
        else:
            assert damaged == data, f"case {case}: a changed model passed its card's hash"
        fuzz_count()


def test_another_models_file_with_this_card(tmp_path: Path, fuzz_count) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "m.tflite"
    shutil.copy(OTHER, model)
    card = json.loads(card_path_for(TONE).read_text())
    card_path_for(model).write_text(json.dumps(card))
    try:
        Classifier(model, try_gpu=False)
        raise AssertionError("another model's file accepted with this card")
    except ModelError as exc:
        assert "\n" not in str(exc)
    fuzz_count()
    # The card rewritten to match the file's hash: nothing tells the files apart any more (the
    # card is the authority), so the file must either be refused by the probe or run cleanly.
    card["model_sha256"] = file_sha256(model)
    card_path_for(model).write_text(json.dumps(card))
    try:
        clf = Classifier(model, try_gpu=False)
    except ModelError as exc:
        assert "\n" not in str(exc), str(exc)
    else:
        probs = clf.predict(np.zeros((2, clf.card.window_samples), dtype=np.float32))
        assert probs.shape == (2, len(card["labels"])) and np.isfinite(probs).all()
    fuzz_count()


def test_damaged_model_with_a_recomputed_card_is_probed(tmp_path: Path,
                                                        fuzz_count) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(10)
    data = TONE.read_bytes()
    card = json.loads(card_path_for(TONE).read_text())
    outcomes = {"refused": 0, "runs": 0}
    files = [(DATA / "segfaults-litert.tflite").read_bytes()]  # a known crasher first
    files += [_damage(data, rng, case) for case in range(budget(8))]
    for case, damaged in enumerate(files):
        model = tmp_path / f"m{case}.tflite"
        model.write_bytes(damaged)
        card_path_for(model).write_text(json.dumps(dict(card, model_sha256=file_sha256(model))))
        try:
            clf = Classifier(model, try_gpu=False)
        except ModelError as exc:
            assert "\n" not in str(exc) and str(model) in str(exc)
            outcomes["refused"] += 1
        else:
            probs = clf.predict(0.1 * rng.standard_normal((3, clf.card.window_samples)))
            assert np.isfinite(probs).all()
            outcomes["runs"] += 1
        fuzz_count()
    assert outcomes["refused"] >= 1, outcomes
