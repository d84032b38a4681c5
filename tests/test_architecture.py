"""The package's shape (docs/architecture.md): imports run downwards, modules stay short, and the
library's stages work without the synthetic renderer.

The import graph is read with ``ast``, not by importing: every ``import`` and ``from ... import``
counts, at module level or inside a function (a lazy import hides a circle, it does not break one),
relative forms resolved. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module,
else to ``pkg`` (its ``__init__``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pigskin

SRC = Path(pigskin.__file__).resolve().parent
MAX_LINES = 500

# Lowest first. A top-level part of pigskin (``pigskin.<part>``) may import its own modules and any
# part on a lower layer, never one on its own layer or above. ``pigskin`` is the root __init__.
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("fileio", "boxes", "config", "runtime"),
    ("detections", "weights", "video", "recordio"),
    ("samples",),
    ("pigskin",),
    ("formats",),
    ("synth", "models", "field"),
    ("data",),
    ("evaluate",),
    ("train",),
    ("serve",),
    ("track", "tune", "client"),
    ("label", "batch"),
    ("demo",),
    ("cli",),
    ("__main__",),
]
# What may import the renderer: itself, the whole-pipeline demo and the command line.
SYNTH_USERS = ("pigskin.synth", "pigskin.demo", "pigskin.cli", "pigskin.__main__")

Graph = dict[str, dict[str, str]]  # module -> {imported module: "file:line"}


def modules(root: Path, package: str = "pigskin") -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is a package __init__)}`` for every .py under ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def import_graph(root: Path, package: str = "pigskin") -> Graph:
    mods = modules(root, package)
    graph: Graph = {}
    for name, (path, is_pkg) in mods.items():
        edges = graph.setdefault(name, {})
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for target, line in _imports(tree, name if is_pkg else name.rpartition(".")[0], mods, package):
            if target and target != name:
                edges.setdefault(target, f"{path.relative_to(root.parent)}:{line}")
    return graph


def _imports(tree: ast.Module, here: str, mods: dict, package: str):
    """``(imported module, line)`` for every import of ``package`` anywhere in ``tree``; ``here`` is
    the package that relative imports start from."""

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    yield owner(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = here.split(".")
                base = ".".join(up[: len(up) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == package:
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    yield (full if full in mods else owner(base)), node.lineno


def find_circles(graph: Graph) -> list[list[str]]:
    """One circle per strongly connected group of modules, as a path ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(graph, g) for g in groups]


def _cycle_in(graph: Graph, group: set[str]) -> list[str]:
    """A shortest circle through the group's first module (breadth-first inside the group)."""
    start = min(group)
    seen = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                return [*seen[v], start]
            if w in group and w not in seen:
                seen[w] = [*seen[v], w]
                todo.append(w)
    raise AssertionError(f"no circle through {start}")  # pragma: no cover


def describe(graph: Graph, circle: list[str]) -> str:
    where = [graph[a][b] for a, b in zip(circle, circle[1:], strict=False)]
    return " -> ".join(circle) + "  (" + ", ".join(where) + ")"


def part(module: str) -> str:
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else bits[0]


GRAPH = import_graph(SRC)


def test_the_walker_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (pkg / "sub" / "c.py").write_text("from . import b\nimport pkg.a\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.sub.b"] == {"pkg.a": "pkg/sub/b.py:2"}
    assert set(graph["pkg.sub.c"]) == {"pkg.sub.b", "pkg.a"}
    assert find_circles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a"]]


def test_no_import_circles():
    circles = [describe(GRAPH, c) for c in find_circles(GRAPH)]
    assert not circles, "import circles (move the shared piece into a lower module):\n" + "\n".join(circles)


def test_imports_run_down_the_layers():
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    unplaced = sorted({part(m) for m in GRAPH} - set(layer))
    assert not unplaced, f"put these parts of pigskin on a layer in LAYERS: {unplaced}"
    upward = [
        f"{a} -> {b} ({where})"
        for a, edges in sorted(GRAPH.items())
        for b, where in edges.items()
        if part(a) != part(b) and layer[part(b)] >= layer[part(a)]
    ]
    assert not upward, "imports that do not run downwards:\n" + "\n".join(upward)


def test_no_module_over_the_line_limit():
    long = {
        str(p.relative_to(SRC.parent)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them along their seams): {long}"


def _reaches_synth(start: str) -> list[str] | None:
    """The import chain from ``start`` to pigskin.synth, if there is one."""
    seen = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in GRAPH.get(v, {}):
            if w in seen:
                continue
            seen[w] = [*seen[v], w]
            if w.startswith("pigskin.synth"):
                return seen[w]
            todo.append(w)
    return None


def test_stages_do_not_import_the_renderer():
    chains = [
        " -> ".join(chain)
        for m in sorted(GRAPH)
        if not m.startswith(SYNTH_USERS) and (chain := _reaches_synth(m))
    ]
    assert not chains, "modules that need pigskin.synth (take frames or a clip path):\n" + "\n".join(chains)


@pytest.mark.parametrize("module", ["pigskin.track.pipeline", "pigskin.track.simple", "pigskin.serve.export"])
def test_stages_import_with_synth_removed(module):
    code = (
        "import sys; sys.modules['pigskin.synth'] = None\n"  # as if the renderer were not installed
        f"import {module}\n"
        "assert not any(m.startswith('pigskin.synth') for m in sys.modules if sys.modules[m])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
