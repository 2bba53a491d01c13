"""A card's calibration temperature reaches every prediction; a broken one is one clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.classifier import Classifier, at_temperature

DATA = Path(__file__).resolve().parents[2] / "support" / "data"


def _model_with(tmp_path: Path, calibration: object) -> Path:
    model = tmp_path / "tone.tflite"
    shutil.copy(DATA / "tone.tflite", model)
    card = json.loads((DATA / "tone.json").read_text())
    card["calibration"] = calibration
    model.with_suffix(".json").write_text(json.dumps(card))
    return model


def _tone(freq_hz: float) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * freq_hz * np.arange(1200) / 400)).astype(np.float32)


def test_temperature_softens_the_models_probabilities(tmp_path: Path) -> None:
    windows = np.stack([_tone(50), _tone(150), _tone(100)])
    plain = Classifier(DATA / "tone.tflite", probe=False, try_gpu=False).predict(windows)
    warm = Classifier(_model_with(tmp_path, {"temperature": 2.0}), probe=False,
                      try_gpu=False).predict(windows)
    np.testing.assert_allclose(warm, at_temperature(plain, 2.0), atol=1e-5)
    assert (warm.argmax(axis=1) == plain.argmax(axis=1)).all()
    assert warm.max() < plain.max()  # less sure, same order
    np.testing.assert_allclose(warm.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("bad", [{"temperature": "hot"}, {"temperature": float("nan")},
                                 {"temperature": 0}, {"temperature": 1e9}])
def test_a_broken_temperature_is_refused_in_one_line(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ModelError, match="calibration.temperature") as info:
        Classifier(_model_with(tmp_path, bad), probe=False, try_gpu=False)
    assert "\n" not in str(info.value)
