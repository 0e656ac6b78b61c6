"""The package's layers: no import cycle between ecgdl's subpackages, and every import goes down the layers.

The graph is read from the source with :mod:`ast` (nothing is imported), every ``import`` counted wherever it
stands: at module level, inside functions (deferred imports) and under ``if TYPE_CHECKING``. A node is a
subpackage (``ecgdl.signals``) or a top-level module (``ecgdl.constants``, ``ecgdl.leaderboard``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ecgdl"

#: The layers, lowest first: a node may import nodes of its own layer or of lower ones (never higher), and
#: nodes of one layer must not import each other both ways (the cycle test). ``metrics`` sits right above
#: ``signals``: the metrics are arithmetic on signals (they import nothing else), and the Lightning modules
#: of ``models`` compute the validation SNR with them.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("constants", "layouts"),
    ("signals",),
    ("digitizer",),  # the Digitizer protocol: EcgRecord in its signature
    ("metrics",),
    ("render",),
    ("aug",),
    ("data",),
    ("fusion",),  # the sample-by-sample fusion of two readings (the cnn's and the classical tracer's)
    ("classical", "models"),
    ("viz", "tasks", "leaderboard", "review", "merge"),  # review / merge: predict's and evaluate's folders
    ("cli", "__main__"),  # the installed command: runs the tasks
)
#: Base nodes every layer may import, whatever its rank (the cycle test still applies to them).
BASE: frozenset[str] = frozenset({"constants", "layouts", "digitizer"})
RANK: dict[str, int] = {node: rank for rank, layer in enumerate(LAYERS) for node in layer}


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules an import statement in ``module`` names (absolute; ``from a import b`` names ``a.b`` when
    that is a module, else ``a``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]


def _node(module: str, root: str) -> str | None:
    """The graph node of a module of the package (``ecgdl.signals.limb`` -> ``signals``), None outside it."""
    parts = module.split(".")
    if parts[0] != root or len(parts) < 2:
        return None
    return parts[1]


def import_graph(package: Path = PACKAGE) -> dict[tuple[str, str], set[str]]:
    """``{(importer, imported): {files that make the edge}}`` between the nodes of ``package``."""
    files = sorted(package.rglob("*.py"))
    known = {_module_name(p, package) for p in files}
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in files:
        module = _module_name(path, package)
        src = _node(module, package.name)
        if src is None:  # the package's own __init__
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for stmt in ast.walk(tree):
            if not isinstance(stmt, ast.Import | ast.ImportFrom):
                continue
            for name in _imported(stmt, module, path.name == "__init__.py", known):
                dst = _node(name, package.name)
                if dst is not None and dst != src:
                    edges[(src, dst)].add(f"{path.relative_to(package.parent)}:{stmt.lineno}")
    return dict(edges)


def cycles(edges) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
        graph[b]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _describe(edges: dict[tuple[str, str], set[str]], pairs) -> str:
    return "\n".join(f"  {a} -> {b}: {', '.join(sorted(edges[(a, b)]))}" for a, b in sorted(pairs))


def nodes(package: Path = PACKAGE) -> list[str]:
    """Every subpackage and top-level module of ``package``."""
    return sorted(
        p.stem
        for p in package.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file()) or (p.suffix == ".py" and p.name != "__init__.py")
    )


GRAPH = import_graph()
NODES = nodes()


def test_the_graph_reader_sees_deferred_relative_and_type_checking_imports(tmp_path) -> None:
    pkg = tmp_path / "demo"
    for sub in ("low", "high", "side"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text("X = 1\n")
    (pkg / "low" / "a.py").write_text("import os\nfrom demo import base\n")
    (pkg / "high" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..low import a\n"  # relative, two levels up
        "if TYPE_CHECKING:\n    import demo.side\n"
        "def f():\n    from demo.low.a import os\n    return os\n"
    )
    (pkg / "side" / "__init__.py").write_text("def g():\n    from . import c\n")
    (pkg / "side" / "c.py").write_text("def h():\n    import demo.high.b\n")
    edges = import_graph(pkg)
    assert set(edges) == {("low", "base"), ("high", "low"), ("high", "side"), ("side", "high")}
    assert edges[("high", "low")] == {"demo/high/b.py:2", "demo/high/b.py:6"}
    assert edges[("side", "high")] == {"demo/side/c.py:2"}  # inside a function
    assert cycles(edges) == [["high", "side"]]
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]


def test_every_node_has_a_layer() -> None:
    missing = sorted(n for n in NODES if n not in RANK)
    assert not missing, f"ecgdl.{missing}: not in LAYERS (tests/unit/test_imports.py); give each a layer"


def test_no_import_cycle_between_subpackages() -> None:
    found = cycles(GRAPH)
    detail = "\n".join(
        f"{' <-> '.join(c)}:\n{_describe(GRAPH, [(a, b) for a, b in GRAPH if a in c and b in c])}"
        for c in found
    )
    assert not found, f"import cycles between subpackages:\n{detail}"


@pytest.mark.parametrize("node", NODES)
def test_imports_go_down_the_layers(node: str) -> None:
    if node not in RANK:
        pytest.skip(f"{node} has no layer (test_every_node_has_a_layer fails)")
    upward = [(a, b) for a, b in GRAPH if a == node and b not in BASE and b in RANK and RANK[b] > RANK[node]]
    order = " < ".join("/".join(layer) for layer in LAYERS)
    assert not upward, f"imports up the layers ({order}):\n{_describe(GRAPH, upward)}"
