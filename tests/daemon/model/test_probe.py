"""A corrupt model is caught in a child process: the daemon's own process never loads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.card import ModelCard, card_path_for, file_sha256
from genrecast.daemon.model.classifier import Classifier
from genrecast.daemon.model.probe import probe_model

from tests.support.common import DATA


def _with_card(model: Path) -> Path:
    ModelCard(
        labels=("a", "b"),
        sample_rate_hz=400,
        window_samples=1200,
        normalisation=Normalisation("none"),
        model_sha256=file_sha256(model),
    ).save(card_path_for(model))
    return model


def test_a_model_that_crashes_litert_is_reported_not_fatal() -> None:
    with pytest.raises(ModelError, match=r"crashed the interpreter \(SIGSEGV\)"):
        probe_model(DATA / "segfaults-litert.tflite")


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_truncated_model_with_a_matching_card_is_refused(tmp_path: Path, cut: float) -> None:
    data = (DATA / "segfaults-litert.tflite").read_bytes()
    model = tmp_path / "truncated.tflite"
    model.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelError, match="cannot be run by LiteRT"):
        Classifier(_with_card(model))


def test_garbage_with_a_matching_card_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "garbage.tflite"
    model.write_bytes(b"\x00" * 64 + b"not a flatbuffer" * 100)
    with pytest.raises(ModelError, match="restore or retrain"):
        Classifier(_with_card(model))
