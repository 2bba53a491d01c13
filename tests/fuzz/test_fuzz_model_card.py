"""Model cards from anywhere: any JSON gives a card or one ModelError line, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.card import ModelCard, card_path_for, file_sha256, load_card
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import budget

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
VALID = {
    "labels": ["classical", "rock"],
    "sample_rate_hz": 400,
    "window_samples": 1200,
    "normalisation": {"method": "rms", "target_rms": 0.1, "floor_rms": 1e-4},
    "model_sha256": "0" * 64,
}


@settings(max_examples=budget(400), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(sorted(VALID)), json_values, max_size=5), data=st.data())
def test_any_field_values_give_a_card_or_a_model_error(fields: dict, data: st.DataObject,
                                                       fuzz_count) -> None:  # type: ignore[no-untyped-def]
    fuzz_count()
    card = dict(VALID)
    card.update(fields)
    for key in data.draw(st.lists(st.sampled_from(sorted(VALID)), max_size=2)):
        card.pop(key, None)
    try:
        parsed = ModelCard.from_json(card)
    except ModelError as exc:
        assert "\n" not in str(exc)
        return
    assert len(parsed.labels) >= 2 and parsed.window_samples > 0


@settings(max_examples=budget(200), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_any_bytes_as_a_card_file_give_a_model_error(tmp_path: Path, raw: bytes,
                                                     fuzz_count) -> None:  # type: ignore[no-untyped-def]
    fuzz_count()
    model = tmp_path / "m.tflite"
    model.write_bytes(b"model")
    card_path_for(model).write_bytes(raw)
    try:
        load_card(model)
    except ModelError as exc:
        assert "\n" not in str(exc)
    else:  # only a complete, consistent card can load, and random bytes are never one
        raise AssertionError(f"random bytes accepted as a card: {raw!r}")


@settings(max_examples=budget(100), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.integers(min_value=0, max_value=4), patch=st.binary(min_size=1, max_size=8))
def test_a_card_for_another_file_is_refused(tmp_path: Path, where: int, patch: bytes,
                                            fuzz_count) -> None:  # type: ignore[no-untyped-def]
    fuzz_count()
    model = tmp_path / "m.tflite"
    payload = bytearray(b"TFL3" + bytes(range(60)))
    model.write_bytes(bytes(payload))
    card = dict(VALID, model_sha256=file_sha256(model))
    card_path_for(model).write_text(json.dumps(card))
    payload[where : where + len(patch)] = patch
    model.write_bytes(bytes(payload))
    changed = file_sha256(model) != card["model_sha256"]
    try:
        load_card(model)
        assert not changed
    except ModelError:
        assert changed
