"""``genrecast model``: which model is loaded, and what it is worth on music it never heard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genrecast.daemon.model.card import ModelCard


def summary_lines(card: ModelCard, path: Path) -> list[str]:
    """A few lines for a person; the whole card is ``genrecast model --json``."""
    extra = card.extra
    lines = [f"model: {card.model_id} ({path})",
             f"architecture: {card.architecture}, {card.quantization}, {card.sample_rate_hz} Hz, "
             f"{card.window_seconds:g}-s windows",
             f"labels: {', '.join(card.labels)}"]
    grouped: dict[str, Any] = extra.get("grouped", {})
    macro = grouped.get("macro", {}).get("int8", {}).get("+0")
    if macro is not None:
        genres = grouped.get("genres_int8_0dB", {})
        lines.append(f"on packages it never heard (grouped {grouped.get('k', '?')}-fold leave-out,"
                     f" int8): macro recall {macro:.2f} ("
                     + ", ".join(f"{g} {v:.2f}" for g, v in genres.items()) + ")")
    else:
        lines.append("on music it never heard: not measured (no grouped figure in its card)")
    cal = extra.get("calibration")
    if isinstance(cal, dict) and "temperature" in cal:
        lines.append(f"calibration: temperature {cal['temperature']} (expected calibration error "
                     f"{cal.get('ece_before', '?')} → {cal.get('ece_after', '?')})")
    cost = extra.get("cost", {})
    if isinstance(cost, dict) and "us_per_window" in cost:
        lines.append(f"cost: {cost['us_per_window']:.0f} µs per window on one thread")
    lines.append("the whole card: genrecast model --json")
    return lines
