"""Real TensorFlow training on small data: train → every quantization → evaluate, via the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from genrecast.daemon.model.card import load_card
from genrecast.daemon.model.classifier import Classifier
from genrecast.train.datasets import load_dataset


def genrecast(*args: str, timeout_s: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-m", "genrecast.daemon.cli", *args],
                          capture_output=True, text=True, timeout=timeout_s, env=env, check=False)


@pytest.mark.slow
def test_synthetic_train_int8_evaluate(tmp_path: Path) -> None:
    stem = tmp_path / "syn"
    proc = genrecast("train", "synthetic", "--out", str(stem), "--epochs", "8", "--seed", "1",
                     "--cache-dir", str(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = load_card(stem.with_suffix(".tflite"))
    assert card.labels == ("classical", "rock")
    assert "SYNTHETIC" in card.extra["warning"]
    assert set(card.extra["quantizations"]) == {"float32", "float16", "dynamic", "int8"}
    assert card.extra["dataset"]["split"]["test"]
    for suffix in ("-curves.png", "-confusion.png"):
        assert (tmp_path / f"syn{suffix}").stat().st_size > 1000
    int8 = card.extra["quantizations"]["int8"]["test_accuracy"]
    assert int8 > 0.8, card.extra["quantizations"]

    proc = genrecast("evaluate", str(stem.with_suffix(".tflite")), "synthetic", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert {"accuracy", "n", "labels", "per_class", "confusion"} <= set(result)
    assert result["accuracy"] > 0.8 and result["n"] == sum(map(sum, result["confusion"]))
    assert result["accuracy"] == pytest.approx(card.extra["test"]["accuracy"])

    # The daemon's classifier, on the held-out windows at -30 dB, still tells the genres apart.
    data = load_dataset("synthetic", seed=1)
    probs = Classifier(stem.with_suffix(".tflite"), try_gpu=False).predict(data.test.x * 0.0316)
    assert np.mean(probs.argmax(1) == data.test.y) > 0.8

    proc = genrecast("quantize", str(stem.with_suffix(".keras")), "synthetic", "--out",
                     str(tmp_path / "dyn"), "--mode", "dynamic", "--seed", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert load_card(tmp_path / "dyn.tflite").quantization == "dynamic"


@pytest.mark.slow
def test_npz_train_evaluate(tmp_path: Path) -> None:
    data = load_dataset("synthetic", seed=4)
    half = lambda part: np.concatenate([part.x[part.y == 0], part.x[part.y == 1]])  # noqa: E731
    npz = tmp_path / "d.npz"
    np.savez(npz, train=half(data.train), test=half(data.test))
    stem = tmp_path / "m"
    proc = genrecast("train", str(npz), "--out", str(stem), "--arch", "mlp", "--epochs", "3",
                     "--quantizations", "float32,int8", "--no-robustness")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = genrecast("evaluate", str(stem.with_suffix(".tflite")), str(npz), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["n"] == len(data.test) and result["labels"] == ["classical", "rock"]
    # quantize again from the .keras file, on data that is not synthetic (the card's labels)
    proc = genrecast("quantize", str(stem.with_suffix(".keras")), str(npz), "--mode", "float32",
                     "--out", str(tmp_path / "f32"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert load_card(tmp_path / "f32.tflite").quantization == "float32"


@pytest.mark.slow
def test_same_seed_same_model(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        stem = tmp_path / run / "m"
        proc = genrecast("train", "synthetic", "--out", str(stem), "--epochs", "1", "--seed", "3",
                         "--quantizations", "float32", "--no-robustness")
        assert proc.returncode == 0, proc.stderr[-3000:]
        digests.append(load_card(stem.with_suffix(".tflite")).model_sha256)
    assert digests[0] == digests[1]
