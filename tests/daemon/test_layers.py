"""The daemon's subpackages import one way: cli → cluster → service → outputs/offline/engine →
model/audio/wire → dsp → errors/settings. A new import against that order, or a cycle, fails here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.support.common import REPO

DAEMON = REPO / "daemon"
# What each part may import (besides itself). "models" is the shipped-models package.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "settings": {"errors"},
    "dsp": {"errors"},
    "audio": {"dsp", "errors", "settings"},
    "model": {"dsp", "errors"},
    "wire": {"errors", "settings"},
    "engine": {"audio", "dsp", "model", "wire", "errors", "settings"},
    "offline": {"audio", "dsp", "model", "engine", "errors", "settings"},
    "outputs": {"engine", "wire", "model", "errors", "settings"},
    "service": {"engine", "outputs", "model", "wire", "audio", "dsp", "errors", "settings",
                "models"},
    # The cluster runner: a room beside service that only the CLI enters (and only when a
    # cluster command runs: Ray is imported there, never by the daemon's core).
    "cluster": {"service", "engine", "outputs", "offline", "model", "wire", "audio", "dsp",
                "errors", "settings", "models"},
    "cli": {"(package)", "cluster", "service", "outputs", "offline", "engine", "model", "audio", "dsp",
            "wire", "errors", "settings", "models"},
    "demo": set(),
    "(package)": set(),
}


def _part(path: Path) -> str:
    rel = path.relative_to(DAEMON).parts
    if len(rel) == 1:
        return "(package)" if rel[0] == "__init__.py" else Path(rel[0]).stem
    return rel[0]


def _imported_part(module: str) -> str | None:
    if module.startswith("genrecast.models"):
        return "models"
    if module.startswith("genrecast.train") or module.split(".")[0] in ("tensorflow", "keras"):
        return "TRAINING"
    if not module.startswith("genrecast.daemon"):
        return None
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "(package)"


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in DAEMON.rglob("*.py"):
        me = _part(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            modules = ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                       else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for module in modules:
                other = _imported_part(module)
                if other is not None and other != me:
                    edges[me].add(other)
    return edges


def test_every_import_follows_the_layers() -> None:
    wrong = {f"{me} imports {other}" for me, others in _graph().items()
             for other in others if other not in ALLOWED.get(me, set())}
    assert not wrong, sorted(wrong)


def test_the_allowed_graph_itself_has_no_cycle() -> None:
    seen: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, path: list[str]) -> None:
        assert seen.get(node) != 1, f"cycle: {' → '.join([*path, node])}"
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for nxt in ALLOWED.get(node, set()):
            visit(nxt, [*path, node])
        seen[node] = 2

    for node in ALLOWED:
        visit(node, [])


def test_every_part_is_known() -> None:
    parts = {_part(p) for p in DAEMON.rglob("*.py")}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)
