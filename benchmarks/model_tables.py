"""The README's model tables from grouped leave-out results (benchmarks/grouped_leave_out.py --json):
per genre and per package for several models side by side, their confusion matrices, and the
teacher's zero-shot figure where a result carries it.

    python benchmarks/model_tables.py default=build/grouped_default.json \\
        wide=build/grouped_wide.json [--teacher build/grouped_default.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def load(specs: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        out[name] = json.loads(Path(path).read_text())
    return out


def per_genre(results: dict[str, dict[str, Any]], teacher: dict[str, Any] | None) -> str:
    names = list(results)
    gains = list(next(iter(results.values()))["scores"]["int8"])
    head = ["genre"] + [f"{n} int8 {g} dB" for n in names for g in gains] + \
        [f"{n} float32" for n in names] + (["teacher (zero-shot)"] if teacher else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    genres = list(next(iter(results.values()))["scores"]["int8"]["+0"]["genres"])
    for g in [*genres, "macro"]:
        cells = []
        for n in names:
            s = results[n]["scores"]
            for gain in gains:
                v = s["int8"][gain]["macro"] if g == "macro" else s["int8"][gain]["genres"][g]
                cells.append(f"**{v:.2f}**" if g == "macro" else f"{v:.2f}")
        for n in names:
            s = results[n]["scores"]["float32"]["+0"]
            cells.append(f"{s['macro'] if g == 'macro' else s['genres'][g]:.2f}")
        if teacher:
            t = teacher["genres"].get(g) if g != "macro" else teacher["macro_of_its_genres"]
            cells.append("–" if t is None else f"{t:.2f}")
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_package(results: dict[str, dict[str, Any]], teacher: dict[str, Any] | None) -> str:
    names = list(results)
    head = ["package", "genre"] + [f"{n} int8" for n in names] + (["teacher"] if teacher else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = next(iter(results.values()))["scores"]["int8"]["+0"]["units"]
    for unit, u in first.items():
        cells = [f"{results[n]['scores']['int8']['+0']['units'][unit]['recall']:.2f}"
                 for n in names]
        t = (teacher or {}).get("units", {}).get(unit)
        lines.append(f"| {unit} | {u['genre']} | " + " | ".join(cells) + " |" +
                     (f" {'–' if t is None else f'{t:.2f}'} |" if teacher else ""))
    return "\n".join(lines)


def confusion(name: str, result: dict[str, Any]) -> str:
    s = result["scores"]["int8"]["+0"]
    labels = list(s["genres"])
    lines = [f"| {name}: true \\ predicted | " + " | ".join(labels) + " | recall (windows) |",
             "|" + "---|" * (len(labels) + 2)]
    for i, row in enumerate(s["confusion"]):
        cells = [f"**{v}**" if j == i else str(v) for j, v in enumerate(row)]
        lines.append(f"| {labels[i]} | " + " | ".join(cells) +
                     f" | {row[i] / max(sum(row), 1):.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="NAME=grouped_leave_out.json")
    ap.add_argument("--teacher", type=Path, help="a result that carries the teacher's figure")
    args = ap.parse_args()
    results = load(args.results)
    teacher = json.loads(args.teacher.read_text()).get("teacher") if args.teacher else None
    print(per_genre(results, teacher), end="\n\n")
    print(per_package(results, teacher), end="\n\n")
    for name, r in results.items():
        print(confusion(name, r), end="\n\n")
        c = r["calibration"]["int8"]
        print(f"{name}: ECE int8 {c['ece']:.3f}, temperature {c['temperature']} → "
              f"{c['ece_calibrated']:.3f}; tracks right "
              + ", ".join(f"{g} {v['right']}/{v['of']}"
                          for g, v in r["scores"]["int8"]["+0"]["tracks_right"].items()),
              end="\n\n")


if __name__ == "__main__":
    main()
