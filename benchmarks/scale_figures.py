"""The figures of one ``scale.py`` trial: what the subscriber logged, turned into windows
expected and received, gaps, latencies and cost, and the verdict *sustained*; and one trial's
figures from those of the worker processes that shared its sources."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
from scale_feed import RATE_HZ, Feeder

WARMUP_S = 5.0  # not measured: startup, the first 3-s window filling
TAIL_S = 2.0  # windows ending this close to the stop may not have been published yet


def summarise(n: int, hop_s: float, seconds: float, feeder: Feeder, lines: list[str],
              daemon: Any, cpu_s: float, wall_s: float, loop_s: float, rss: float,
              peak: float) -> dict[str, Any]:
    # Measured span, in seconds after the feeder's start, of the moments windows end.
    lo_s, hi_s = WARMUP_S, WARMUP_S + seconds - TAIL_S
    latencies: list[tuple[float, float]] = []  # (window end after the feeder's start, latency s)
    last_seq: dict[str, int] = {}
    gaps = 0
    for line in lines:
        t_recv, name, seq_text, end_text = line.split()
        seq = int(seq_text)
        if name in last_seq and seq != last_seq[name] + 1:
            gaps += seq - last_seq[name] - 1
        last_seq[name] = seq
        end_s = float(end_text)
        ends_at = feeder.stream_offset_s(name) + end_s
        if not lo_s <= ends_at <= hi_s:
            continue
        arrived = feeder.frame_arrival(name, int(round(end_s * RATE_HZ)) - 1)
        if arrived is not None:
            latencies.append((ends_at, float(t_recv) - arrived))
    counted = len(latencies)
    first_end_s = 3.0  # the first window ends 3 s into a stream, then one every hop
    expected = 0
    for src in daemon.sources:
        offset = feeder.stream_offset_s(src.name)
        k_lo = max(0, int(np.ceil((lo_s - offset - first_end_s) / hop_s - 1e-9)))
        k_hi = int(np.floor((hi_s - offset - first_end_s) / hop_s + 1e-9))
        expected += max(0, k_hi - k_lo + 1)
    lat = np.asarray([x for _, x in latencies]) if latencies else np.asarray([np.inf])
    third = (hi_s - lo_s) / 3
    early = [x for e, x in latencies if e < lo_s + third]
    late = [x for e, x in latencies if e > hi_s - third]
    growth_s = (statistics.median(late) - statistics.median(early)) if early and late else 0.0
    overruns = sum(s.overrun_frames for s in daemon.sources)
    result = {
        "sources": n, "hop_s": hop_s, "seconds": seconds,
        "windows_expected": expected, "windows_received": counted, "seq_gaps": gaps,
        "latency_median_ms": float(np.median(lat)) * 1e3,
        "latency_p95_ms": float(np.percentile(lat, 95)) * 1e3,
        "latency_p99_ms": float(np.percentile(lat, 99)) * 1e3,
        "latency_growth_ms": growth_s * 1e3,
        "feeder_max_lag_ms": feeder.max_lag_s * 1e3, "ring_overrun_frames": overruns,
        "cpu_s_per_s": cpu_s / wall_s, "loop_cpu_s_per_s": loop_s / wall_s,
        "cpu_ms_per_stream_s": cpu_s / wall_s / n * 1e3,
        "rss_mb": rss, "peak_rss_mb": peak,
        "stage_us_per_window": daemon.stage_times.per_window_us(),
    }
    result["sustained"] = bool(
        counted >= expected and gaps == 0 and overruns == 0
        and result["latency_p99_ms"] < hop_s * 1e3
        and result["latency_growth_ms"] < 0.25 * hop_s * 1e3
        and result["feeder_max_lag_ms"] < 0.5 * hop_s * 1e3)
    return result


def merge_shards(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One trial's figures from its workers': counts and costs add up, latencies take the worst."""
    n = sum(p["sources"] for p in parts)
    out = dict(parts[0])
    for key in ("windows_expected", "windows_received", "seq_gaps", "ring_overrun_frames",
                "cpu_s_per_s", "loop_cpu_s_per_s", "rss_mb", "peak_rss_mb"):
        out[key] = sum(p[key] for p in parts)
    for key in ("latency_median_ms", "latency_p95_ms", "latency_p99_ms", "latency_growth_ms",
                "feeder_max_lag_ms"):
        out[key] = max(p[key] for p in parts)
    out["sources"] = n
    out["cpu_ms_per_stream_s"] = out["cpu_s_per_s"] / n * 1e3
    out["sustained"] = all(p["sustained"] for p in parts)
    return out
