"""The model travels with the work: its bytes and card go to every node in the task's arguments.

Nodes need not share a filesystem with the driver for the model (a custom model on the driver's
disk works on a fresh node); a few hundred kilobytes per shard is nothing beside the audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genrecast.daemon.errors import ModelError
from genrecast.daemon.model.card import card_path_for


@dataclass(frozen=True)
class ModelFiles:
    name: str
    tflite: bytes
    card: bytes

    @classmethod
    def read(cls, model_path: Path) -> ModelFiles:
        try:
            return cls(model_path.name, model_path.read_bytes(),
                       card_path_for(model_path).read_bytes())
        except OSError as exc:
            raise ModelError(f"cannot read model {model_path}: {exc.strerror}; give an existing "
                             ".tflite with its .json card beside it") from None

    def write(self, folder: Path) -> Path:
        """The model and its card in ``folder``; returns the model's path there."""
        path = folder / self.name
        path.write_bytes(self.tflite)
        card_path_for(path).write_bytes(self.card)
        return path
