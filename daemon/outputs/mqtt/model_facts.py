"""What Home Assistant is told about the model: its id, its labels (the genre sensor's options)
and its grouped accuracy from the card, when the card has one.

The grouped figure is the leave-package-out macro recall (each package of recordings held out of
training in turn, so a whole source's production style is unseen) of the shipped quantization at
0 dB: the figure the README stands behind for music from elsewhere, not the optimistic by-window
test accuracy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from genrecast.daemon.errors import UserError
from genrecast.daemon.model.card import ModelCard, grouped_recall, load_card
from genrecast.daemon.wire.events import SILENCE

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ModelFacts:
    model_id: str
    labels: tuple[str, ...]
    accuracy_pct: float | None = None
    accuracy_basis: str = ""

    @property
    def genres(self) -> list[str]:
        """Every state the genre sensor can take: the model's labels and ``silence``."""
        return [*self.labels, *(() if SILENCE in self.labels else (SILENCE,))]


def grouped_accuracy(card: ModelCard) -> tuple[float | None, str]:
    """(percent, what it is) of the card's grouped figure (card.grouped_recall), or (None, "")."""
    found = grouped_recall(card)
    if found is None:
        return None, ""
    return round(100 * found[0], 1), found[1]


def facts_from_card(card: ModelCard) -> ModelFacts:
    accuracy, basis = grouped_accuracy(card)
    return ModelFacts(card.model_id, tuple(card.labels), accuracy, basis)


def read_model_facts(model_path: Path) -> ModelFacts | None:
    """The facts of the model at ``model_path``; None when its card cannot be read (the daemon
    itself then refuses the model with its own error)."""
    try:
        return facts_from_card(load_card(model_path))
    except (UserError, OSError, ValueError) as exc:
        log.debug("mqtt: no model facts from %s: %s", model_path, exc)
        return None
