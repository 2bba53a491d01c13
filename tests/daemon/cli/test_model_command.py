"""``genrecast model``: which model is loaded and its grouped figure; ``--json`` the card."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "support" / "data"


def _genrecast(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "genrecast.daemon.cli", *args], check=True,
                          capture_output=True, text=True, timeout=120).stdout


def test_model_names_itself_and_its_grouped_figure(tmp_path: Path) -> None:
    model = tmp_path / "tone.tflite"
    shutil.copy(DATA / "tone.tflite", model)
    card = json.loads((DATA / "tone.json").read_text())
    card["quantization"] = "int8"
    card["grouped"] = {"k": 5, "macro": {"int8": {"+0": 0.5234}},
                       "genres_int8_0dB": {"low": 0.61, "high": 0.43}}
    card["calibration"] = {"temperature": 1.5, "ece_before": 0.12, "ece_after": 0.02}
    model.with_suffix(".json").write_text(json.dumps(card))
    out = _genrecast("model", str(model))
    assert f"model: tone@{card['model_sha256'][:12]} ({model})" in out
    assert ("on packages it never heard: 0.52 (grouped 5-fold leave-out by package macro recall, "
            "int8, 0 dB) (low 0.61, high 0.43)") in out
    assert "temperature 1.5" in out
    assert json.loads(_genrecast("model", str(model), "--json"))["grouped"]["k"] == 5


def test_a_model_without_a_grouped_figure_says_so() -> None:
    assert "not measured" in _genrecast("model", str(DATA / "tone.tflite"))
