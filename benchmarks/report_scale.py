"""The table ``scale.py`` prints: every scale figure beside its target and the raw costs."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "count": 1000,  # concurrent 48 kHz sources in real time at hop 1 s
    "cpu_ms": 0.5,  # CPU per stream-second, one source at hop 0.5 s
    "p95_ms": 100.0,  # latency beyond the window's end
    "offline_x": 2000.0,  # genrecast classify, × real time
    "rss_one_mb": 80.0,
    "rss_each_mb": 0.5,
}


def _row(name: str, value: str, target: str, ok: bool | None) -> str:
    mark = "" if ok is None else ("met" if ok else "MISSED")
    return f"| {name} | {value} | {target} | {mark} |"


def print_report(single: dict[str, Any], best: int, short_best: int,
                 confirm: dict[str, Any] | None,
                 thousand: dict[str, Any], raw: dict[str, float], offline: dict[str, float],
                 hop_s: float) -> None:
    """Markdown table (pasteable into the README) and the per-stage split behind it."""
    big = confirm if confirm is not None else thousand
    per_extra = (thousand["rss_mb"] - single["rss_mb"]) / max(thousand["sources"] - 1, 1)
    threads = single.get("thread_cpu_s_per_s", {})
    capture_ms = threads.get("feeder", 0.0) * 1e3
    rows = [
        "| figure | measured | target | |",
        "|---|---|---|---|",
        _row(f"concurrent 48 kHz sources in real time, hop {hop_s:g} s "
             f"({confirm['seconds'] if confirm else 0:g}-s confirmation)",
             f"{best}", f"≥ {TARGETS['count']}", best >= TARGETS["count"]),
        _row("  largest count sustained in the short search trials", f"{short_best}", "", None),
        _row("CPU per stream-second, 1 source, hop 0.5 s (whole process)",
             f"{single['cpu_ms_per_stream_s']:.2f} ms", f"≤ {TARGETS['cpu_ms']} ms",
             single["cpu_ms_per_stream_s"] <= TARGETS["cpu_ms"]),
        _row("  of which the capture thread (ring writes, 47 blocks/s)", f"{capture_ms:.2f} ms",
             "", None),
        _row("  of which the daemon loop", f"{single['loop_cpu_s_per_s'] * 1e3:.2f} ms", "",
             None),
        _row(f"CPU per stream-second at {big['sources']} sources, hop {hop_s:g} s",
             f"{big['cpu_ms_per_stream_s']:.2f} ms", "", None),
        _row("latency p50 / p95, 1 source (last sample in → event at subscriber)",
             f"{single['latency_median_ms']:.0f} / {single['latency_p95_ms']:.0f} ms",
             f"p95 ≤ {TARGETS['p95_ms']:.0f} ms", single["latency_p95_ms"] <= TARGETS["p95_ms"]),
        _row(f"latency p50 / p95 at {big['sources']} sources",
             f"{big['latency_median_ms']:.0f} / {big['latency_p95_ms']:.0f} ms",
             f"p95 ≤ {TARGETS['p95_ms']:.0f} ms", big["latency_p95_ms"] <= TARGETS["p95_ms"]),
        _row("resident memory, 1 source", f"{single['rss_mb']:.0f} MB",
             f"≤ {TARGETS['rss_one_mb']:.0f} MB", single["rss_mb"] <= TARGETS["rss_one_mb"]),
        _row(f"resident memory, {thousand['sources']} sources (per extra source)",
             f"{thousand['rss_mb']:.0f} MB ({per_extra:.2f} MB)",
             f"≤ {TARGETS['rss_each_mb']} MB each", per_extra <= TARGETS["rss_each_mb"]),
        _row(f"offline `genrecast classify`, {offline['audio_s'] / 60:.0f}-min 48 kHz WAV "
             "(command incl. start-up)", f"{offline['command_x']:.0f}× real time",
             f"≥ {TARGETS['offline_x']:.0f}×", offline["command_x"] >= TARGETS["offline_x"]),
        _row("  the same work in-process (decode + DSP + classify + smooth)",
             f"{offline['inner_x']:.0f}× real time", "", None),
        _row("raw LiteRT invoke per window (batched, 1 thread)",
             f"{raw['invoke_us_per_window']:.0f} µs", "", None),
        _row("raw resampling per stream-second (48 kHz → 400 Hz, 1-s calls)",
             f"{raw['resample_us_per_stream_s']:.0f} µs", "", None),
    ]
    print()
    print("\n".join(rows))
    print()
    print(f"daemon loop CPU per window at {big['sources']} sources (µs): "
          + ", ".join(f"{k} {v:.0f}" for k, v in big["stage_us_per_window"].items())
          + f"; raw invoke {raw['invoke_us_per_window']:.0f}, raw resample "
          f"{raw['resample_us_per_stream_s'] * hop_s:.0f} per hop")
    print(f"threads at {big['sources']} sources (cores): "
          + ", ".join(f"{k} {v:.2f}" for k, v in big.get("thread_cpu_s_per_s", {}).items()))
