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
from typing import Any

from genrecast.daemon.errors import UserError
from genrecast.daemon.model.card import ModelCard, load_card
from genrecast.daemon.wire.events import SILENCE

log = logging.getLogger(__name__)

GROUPED_GAIN = "+0"  # the card's leave-package-out figures per input gain; 0 dB is the headline


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
    """(percent, what it is) from the card's ``leave_package_out`` section, or (None, "")."""
    section: Any = card.extra.get("leave_package_out")
    try:
        value = section["macro"][card.quantization][GROUPED_GAIN]
    except (KeyError, TypeError):
        return None, ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        return None, ""
    return (round(100 * float(value), 1),
            f"leave-package-out macro recall, {card.quantization}, 0 dB")


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
