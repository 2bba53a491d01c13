"""classify probes a model once per model bytes and LiteRT version; a crashing one never passes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import soundfile as sf
from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.model.card import ModelCard, card_path_for, file_sha256
from genrecast.daemon.offline.probe_cache import cache_dir, ensure_probed

from tests.support.common import DATA, genrecast_cmd, tone


def test_a_passed_model_is_remembered_by_its_bytes(tone_model: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ensure_probed(tone_model)
    (marker,) = cache_dir().iterdir()
    assert marker.name.startswith(file_sha256(tone_model))
    ensure_probed(tone_model)  # remembered: no second marker
    assert list(cache_dir().iterdir()) == [marker]


def test_a_crashing_model_is_refused_every_time(tmp_path: Path) -> None:
    model = tmp_path / "crash.tflite"
    shutil.copy(DATA / "segfaults-litert.tflite", model)
    ModelCard(labels=("a", "b"), sample_rate_hz=400, window_samples=1200,
              normalisation=Normalisation("none"),
              model_sha256=file_sha256(model)).save(card_path_for(model))
    wav = tmp_path / "t.wav"
    sf.write(wav, tone(50, 5, 8000, 1), 8000)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        proc = subprocess.run(genrecast_cmd("classify", str(wav), "--model", str(model)),
                              capture_output=True, text=True, timeout=120, check=False, env=env)
        assert proc.returncode == 76 and "crashed the interpreter" in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "cache" / "genrecast" / "probed").exists() or not any(
        (tmp_path / "cache" / "genrecast" / "probed").iterdir())
