"""The daemon's subpackages import one way: cli → cluster → service → outputs/offline/engine →
model/audio/wire → dsp → errors/settings/text. A new import against that order, or a cycle, fails
here.
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
    "text": set(),
    "settings": {"errors"},
    "dsp": {"errors"},
    "audio": {"dsp", "errors", "settings", "text"},
    "model": {"dsp", "errors"},
    "wire": {"errors", "settings", "text"},
    "engine": {"audio", "dsp", "model", "wire", "errors", "settings", "text"},
    "offline": {"audio", "dsp", "model", "engine", "errors", "settings"},
    "outputs": {"engine", "wire", "model", "errors", "settings", "text"},
    "service": {"engine", "outputs", "model", "wire", "audio", "dsp", "errors", "settings",
                "text", "models"},
    # The cluster runner: a room beside service that only the CLI enters (and only when a
    # cluster command runs: Ray is imported there, never by the daemon's core).
    "cluster": {"service", "engine", "outputs", "offline", "model", "wire", "audio", "dsp",
                "errors", "settings", "text", "models"},
    "cli": {"(package)", "cluster", "service", "outputs", "offline", "engine", "model", "audio",
            "dsp", "wire", "errors", "settings", "text", "models"},
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


def _module_name(path: Path) -> str:
    rel = path.relative_to(DAEMON).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(("genrecast", "daemon", *parts))


def _module_graph() -> dict[str, set[str]]:
    """Module → the daemon modules it imports, anywhere in it (a function's import too; not
    those under ``if TYPE_CHECKING:``, which never run). ``from PACKAGE import x`` runs
    PACKAGE's ``__init__``: an edge to the package (and to ``PACKAGE.x`` when that is a
    module); ``from MODULE import name`` is an edge to MODULE."""
    modules = {_module_name(p): p for p in DAEMON.rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    edges[name].add(target)
    return edges


def test_no_import_cycle_between_modules() -> None:
    """Inside a stage too: a cycle makes import order matter (audio.sources → sources.url →
    sources.stream_decode → audio.sources was one)."""
    graph = _module_graph()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        if state.get(node) == 1:
            cycles.append(" → ".join([*stack[stack.index(node):], node]))
            return
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*stack, node])
        state[node] = 2

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, cycles
