"""Draw a classify timeline: probabilities over time, with the decided genre as a band below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from genrecast.daemon.errors import ServiceUnavailable
from genrecast.daemon.offline.classify import Timeline


def plot_timelines(timelines: list[Timeline], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ServiceUnavailable(
            "--plot needs matplotlib; install it with pip install 'genrecast[plot]'") from exc
    n = len(timelines)
    fig, axes = plt.subplots(n, 1, figsize=(11, 3.2 * n), squeeze=False)
    for ax, t in zip(axes[:, 0], timelines, strict=True):
        mid = (t.start_s + t.end_s) / 2
        colours = {}
        for j, label in enumerate(t.labels):
            (line,) = ax.plot(mid, t.probs[:, j], lw=0.8, alpha=0.45)
            ax.plot(mid, t.smoothed[:, j], lw=1.8, color=line.get_color(), label=f"{label}")
            colours[label] = line.get_color()
        # The decided genre as a coloured band under the curves.
        for i in range(len(mid)):
            genre = t.genre[i]
            if genre is None:
                continue
            left = t.end_s[i - 1] if i else t.start_s[0]
            ax.axvspan(left, t.end_s[i], ymin=0, ymax=0.06, lw=0,
                       color=colours.get(genre, "0.6"))
        for change in t.changes:
            ax.axvline(float(change["at_s"]), color="k", lw=0.6, ls=":")  # type: ignore[arg-type]
            ax.text(float(change["at_s"]), 1.02, str(change["genre"]), fontsize=8,  # type: ignore[arg-type]
                    ha="left", va="bottom")
        ax.set_ylim(-0.02, 1.1)
        ax.set_xlim(0, max(float(np.max(t.end_s)) if len(t.end_s) else 1.0, 1.0))
        ax.set_ylabel("probability")
        ax.set_title(f"{t.path.name}: thin = per window, thick = smoothed, band = decided genre",
                     fontsize=9)
        ax.legend(loc="center right", fontsize=8)
    axes[-1, 0].set_xlabel("stream time (s)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
