"""The model card: round trip, and refusal of a missing, malformed or mismatched card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.errors import EXIT_MODEL, ModelError
from genrecast.daemon.model.card import ModelCard, card_path_for, file_sha256, load_card


def _write_model(tmp_path: Path, payload: bytes = b"TFL3-not-really") -> Path:
    model = tmp_path / "m.tflite"
    model.write_bytes(payload)
    card = ModelCard(
        labels=("classical", "rock"),
        sample_rate_hz=400,
        window_samples=1200,
        normalisation=Normalisation("rms", 0.1, 1e-4),
        model_sha256=file_sha256(model),
        name="m",
        extra={"provenance": "test"},
    )
    card.save(card_path_for(model))
    return model


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    model = _write_model(tmp_path)
    card = load_card(model)
    assert card.labels == ("classical", "rock")
    assert card.window_seconds == 3.0
    assert card.normalisation == Normalisation("rms", 0.1, 1e-4)
    assert card.extra["provenance"] == "test"
    assert card.model_id.startswith("m@")


def test_missing_card_is_a_model_error(tmp_path: Path) -> None:
    model = _write_model(tmp_path)
    card_path_for(model).unlink()
    with pytest.raises(ModelError, match="has no card") as info:
        load_card(model)
    assert info.value.exit_code == EXIT_MODEL


def test_replaced_model_file_is_refused(tmp_path: Path) -> None:
    model = _write_model(tmp_path)
    model.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="does not match its card"):
        load_card(model)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("labels"), "lacks labels"),
        (lambda d: d.update(labels=["only"]), "two or more"),
        (lambda d: d.update(labels=["a", "a"]), "distinct"),
        (lambda d: d.update(window_samples="many"), "integers"),
        (lambda d: d.update(normalisation={"method": "magic"}), "normalisation"),
    ],
)
def test_malformed_cards_are_refused(tmp_path: Path, edit, message: str) -> None:
    model = _write_model(tmp_path)
    path = card_path_for(model)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match=message):
        load_card(model)


def test_card_that_is_not_json_is_refused(tmp_path: Path) -> None:
    model = _write_model(tmp_path)
    card_path_for(model).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_card(model)


def test_rms_normalisation_removes_gain_but_not_silence() -> None:
    norm = Normalisation("rms", 0.1, 1e-4)
    x = np.random.default_rng(0).standard_normal((2, 1200)).astype(np.float32)
    loud, quiet = norm.apply(x), norm.apply(x * 10 ** (-30 / 20))
    np.testing.assert_allclose(loud, quiet, rtol=1e-4, atol=1e-6)
    silence = norm.apply(np.full((1, 1200), 1e-7, dtype=np.float32))
    assert np.abs(silence).max() < 1e-3


@pytest.mark.parametrize(("rate", "window"), [(1, 3), (400, 1), (400, 400 * 120), (10**7, 10**7)])
def test_an_absurd_rate_or_window_is_refused(tmp_path: Path, rate: int, window: int) -> None:
    """A 1 Hz card was accepted."""
    model = _write_model(tmp_path)
    path = card_path_for(model)
    data = json.loads(path.read_text())
    data.update(sample_rate_hz=rate, window_samples=window)
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="sample_rate_hz must be 100-192000"):
        load_card(model)
