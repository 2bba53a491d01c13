"""The model card: ``NAME.json`` beside ``NAME.tflite``, the contract between training and daemon.

The daemon reads everything it needs from the card (labels, rate, window, normalisation) and refuses
a model whose card is missing or disagrees with the file (the card records the file's SHA-256).
Training writes it with ``ModelCard.save``; anything beyond the required fields (dataset, split,
accuracy, versions, provenance) travels in ``extra`` untouched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genrecast.daemon.dsp.normalise import Normalisation
from genrecast.daemon.errors import ModelError

CARD_SCHEMA_VERSION = 1
MIN_RATE_HZ, MAX_RATE_HZ = 100, 192_000  # a 1 Hz card was accepted and made no sense
MIN_WINDOW_S, MAX_WINDOW_S = 0.1, 60.0
REQUIRED_KEYS = ("labels", "sample_rate_hz", "window_samples", "normalisation", "model_sha256")


def card_path_for(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    """What the daemon must know about a model; ``extra`` keeps the rest of the JSON."""

    labels: tuple[str, ...]
    """Class names in the order of the model's outputs."""
    sample_rate_hz: int
    """Rate of the model's input samples (400 for the shipped models)."""
    window_samples: int
    """Samples in one input window (1200 = 3 s at 400 Hz)."""
    normalisation: Normalisation
    """Applied in float to each window before the model runs."""
    model_sha256: str
    """SHA-256 of the .tflite file this card describes."""
    name: str = "model"
    quantization: str = "unknown"
    architecture: str = "unknown"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def window_seconds(self) -> float:
        return self.window_samples / self.sample_rate_hz

    @property
    def model_id(self) -> str:
        """Short identifier that travels in every event: name and the first hex digits of the hash."""
        return f"{self.name}@{self.model_sha256[:12]}"

    def to_json(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            card_schema_version=CARD_SCHEMA_VERSION,
            name=self.name,
            labels=list(self.labels),
            sample_rate_hz=self.sample_rate_hz,
            window_samples=self.window_samples,
            window_seconds=self.window_seconds,
            normalisation=self.normalisation.to_json(),
            architecture=self.architecture,
            quantization=self.quantization,
            model_sha256=self.model_sha256,
        )
        return data

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def from_json(cls, data: Any, where: str = "model card") -> ModelCard:
        if not isinstance(data, dict):
            raise ModelError(f"{where} is not a JSON object; rebuild it with genrecast train")
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise ModelError(
                f"{where} lacks {', '.join(missing)}; rebuild it with genrecast train or quantize"
            )
        labels = data["labels"]
        if (
            not isinstance(labels, list)
            or len(labels) < 2
            or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels)
        ):
            raise ModelError(f"{where}: labels must be a list of two or more distinct names")
        try:
            rate = int(data["sample_rate_hz"])
            window = int(data["window_samples"])
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: sample_rate_hz/window_samples must be integers") from exc
        if rate <= 0 or window <= 0:
            raise ModelError(f"{where}: sample_rate_hz and window_samples must be positive")
        if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ or not MIN_WINDOW_S <= window / rate <= MAX_WINDOW_S:
            raise ModelError(f"{where}: sample_rate_hz must be {MIN_RATE_HZ}-{MAX_RATE_HZ} and a "
                             f"window {MIN_WINDOW_S:g}-{MAX_WINDOW_S:g} s long (got {rate} Hz, "
                             f"{window} samples); rebuild the card with genrecast train")
        sha = data["model_sha256"]
        if not isinstance(sha, str) or len(sha) != 64:
            raise ModelError(f"{where}: model_sha256 must be a 64-character hex digest")
        known = set(REQUIRED_KEYS) | {"name", "quantization", "architecture", "card_schema_version",
                                      "window_seconds"}
        return cls(
            labels=tuple(labels),
            sample_rate_hz=rate,
            window_samples=window,
            normalisation=Normalisation.from_json(data["normalisation"]),
            model_sha256=sha,
            name=str(data.get("name", "model")),
            quantization=str(data.get("quantization", "unknown")),
            architecture=str(data.get("architecture", "unknown")),
            extra={k: v for k, v in data.items() if k not in known},
        )


def grouped_recall(card: ModelCard) -> tuple[float, str] | None:
    """(macro recall, what it is) of the model on packages it never heard, from its card: the
    grouped k-fold leave-out (``grouped``), else the older leave-one-package-out; None without."""
    quant = card.quantization
    for key, basis in (("grouped", "grouped {k}-fold leave-out by package"),
                       ("leave_package_out", "leave-package-out")):
        section: Any = card.extra.get(key)
        try:
            value = section["macro"][quant]["+0"]
        except (KeyError, TypeError):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            continue
        k = section.get("k", "?") if isinstance(section, dict) else "?"
        return float(value), f"{basis.format(k=k)} macro recall, {quant}, 0 dB"
    return None


def read_model(model_path: Path) -> bytes:
    """The model file's bytes, or a ModelError naming the problem."""
    try:
        return model_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model {model_path} cannot be read ({exc.strerror or exc}); check "
                         "--model and the file's permissions") from exc


def load_card(model_path: str | Path, content: bytes | None = None) -> ModelCard:
    """Read and check the card beside ``model_path``; the model's hash (of ``content`` when the
    caller already read the file) must match the card."""
    model_path = Path(model_path)
    if model_path.suffix != ".tflite":
        raise ModelError(f"{model_path} is not a .tflite file; pass the model's .tflite path")
    if not model_path.is_file():
        raise ModelError(f"model {model_path} does not exist; check --model or train one first")
    card_path = card_path_for(model_path)
    if not card_path.is_file():
        raise ModelError(
            f"model {model_path} has no card {card_path.name} beside it; "
            "copy the card along with the model or rebuild it with genrecast train"
        )
    try:
        data = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_path} is not valid JSON ({exc}); restore it") from exc
    card = ModelCard.from_json(data, where=f"model card {card_path}")
    actual = (hashlib.sha256(content).hexdigest() if content is not None
              else file_sha256(model_path))
    if actual != card.model_sha256:
        raise ModelError(
            f"model {model_path} does not match its card (SHA-256 {actual[:12]}… != "
            f"{card.model_sha256[:12]}…); the file was replaced or corrupted: restore both together"
        )
    return card
