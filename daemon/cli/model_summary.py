"""``genrecast model``: which model is loaded, and what it is worth on music it never heard."""

from __future__ import annotations

from pathlib import Path

from genrecast.daemon.model.card import ModelCard, grouped_recall


def summary_lines(card: ModelCard, path: Path) -> list[str]:
    """A few lines for a person; the whole card is ``genrecast model --json``."""
    extra = card.extra
    lines = [f"model: {card.model_id} ({path})",
             f"architecture: {card.architecture}, {card.quantization}, {card.sample_rate_hz} Hz, "
             f"{card.window_seconds:g}-s windows",
             f"labels: {', '.join(card.labels)}"]
    found = grouped_recall(card)
    if found is not None:
        genres = extra.get("grouped", {}).get("genres_int8_0dB", {})
        per_genre = (" (" + ", ".join(f"{g} {v:.2f}" for g, v in genres.items()) + ")"
                     if isinstance(genres, dict) and genres else "")
        lines.append(f"on packages it never heard: {found[0]:.2f} ({found[1]}){per_genre}")
    else:
        lines.append("on music it never heard: not measured (no grouped figure in its card)")
    cal = extra.get("calibration")
    if isinstance(cal, dict) and "temperature" in cal:
        lines.append(f"calibration: temperature {cal['temperature']} (expected calibration error "
                     f"{cal.get('ece_before', '?')} → {cal.get('ece_after', '?')})")
    tried = extra.get("calibration_tried")
    if isinstance(tried, dict) and "temperature" in tried:
        lines.append(f"calibration: not applied (expected calibration error {tried.get('ece_before')}"
                     f"; a temperature of {tried['temperature']} only brings it to "
                     f"{tried.get('ece_after')})")
    cost = extra.get("cost", {})
    if isinstance(cost, dict) and "us_per_window" in cost:
        lines.append(f"cost: {cost['us_per_window']:.0f} µs per window on one thread")
    lines.append("the whole card: genrecast model --json")
    return lines
