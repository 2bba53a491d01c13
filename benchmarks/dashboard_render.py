"""How long the dashboard takes to show N sources in headless Chromium.

    python benchmarks/dashboard_render.py                 # 10, 100 and 1000 sources, 5 loads each
    python benchmarks/dashboard_render.py --sources 1000 --loads 3

The page is served by the real hub and HTTP server with a synthetic status of N sources (see
``tests/support/synthetic_dashboard.py``); each load is a fresh navigation. Reported: from the
start of navigation to the first complete render (fetching the page, the script and
``/api/status``, building the view), the view build alone, and one live update of every source
(N predictions through the hub, until the last row shows it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import Browser  # noqa: E402
from tests.support.synthetic_dashboard import SyntheticDashboard, name_of, prediction  # noqa: E402


def measure(n: int, loads: int, tmp: Path) -> dict[str, float]:
    synthetic = SyntheticDashboard(n).start()
    browser = Browser(tmp / f"b{n}")
    loaded: list[float] = []
    built: list[float] = []
    live: list[float] = []
    try:
        for _ in range(loads):
            browser.goto(synthetic.url + f"?n={time.monotonic_ns()}")
            browser.wait_for(f"document.body.dataset.rendered === '{n}'", 60, f"{n} sources")
            loaded.append(float(browser.evaluate("document.body.dataset.loadedMs")))
            built.append(float(browser.evaluate("document.body.dataset.renderMs")))
            browser.wait_for("document.getElementById('conn').dataset.state === 'live'", 30,
                             "live")
            genre = "classical" if len(live) % 2 else "rock"
            last = f"[data-source=\"{name_of(n - 1)}\"]"
            t0 = time.perf_counter()
            for i in range(n):
                synthetic.hub.offer("", prediction(synthetic.factory, i, time.time(),
                                                   genre=genre), True)
            browser.wait_for(f"document.querySelector('{last}').dataset.genre === '{genre}'",
                             30, "the live update")
            live.append((time.perf_counter() - t0) * 1e3)
    finally:
        browser.close()
        synthetic.close()
    return {"load_ms": statistics.median(loaded), "build_ms": statistics.median(built),
            "live_update_ms": statistics.median(live)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=int, action="append")
    ap.add_argument("--loads", type=int, default=5)
    args = ap.parse_args()
    counts = args.sources or [10, 100, 1000]
    print("| sources | navigation → rendered (ms) | building the view (ms) | "
          "live update of every source (ms) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            r = measure(n, args.loads, Path(tmp))
            print(f"| {n} | {r['load_ms']:.0f} | {r['build_ms']:.0f} | "
                  f"{r['live_update_ms']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
