"""The layout holds.

The card's top level: ``workflows/`` (every workflow and the deterministic code it runs), ``activities/``
(every activity, by the provider or resource it talks to, each provider's wire beside its adapter),
``starter/``, ``worker.py``; beside them ``domain/`` (pure rules and pricing), ``webhooks/`` (gateway,
inbox, relay), ``runtime/`` (settings, codec, store, telemetry), ``ops/`` (the jobs), and ``devtools/``
(never shipped). Layers point one way:

    domain ← workflows ← activities ← webhooks ← starter / ops / worker;   runtime (plumbing) ← all but domain

No two top-level packages import each other, no module imports one that imports it back, the domain is
wire-free, workflow code reaches no provider's wire (not even through another module), shipped code
never imports the development tools or the tests, and no shipped name is a standard-library module's.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

from tests.support.shipped import is_shipped, shipped_modules, shipped_top_level

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests", "deploy", "spec", "data", "build", "dist"}
PACKAGES = sorted(
    p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_CODE
)
TOP_MODULES = ["worker", "dev"]
LAYERS = {
    "domain": set(),
    "workflows": {"domain"},
    "runtime": {"domain"},
    "activities": {"domain", "workflows", "runtime"},
    "webhooks": {"domain", "workflows", "activities", "runtime"},
    "starter": {"domain", "workflows", "activities", "runtime"},
    "ops": {"domain", "workflows", "activities", "webhooks", "runtime"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = importer.split(".")
    is_package = MODULES[importer].name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(name: str) -> set[str]:
    """The project modules ``name`` imports (``from pkg import module`` counts as the module)."""
    tree = ast.parse(MODULES[name].read_text())
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {t for t in targets if t in MODULES and t != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


MODULE_GRAPH = {name: _imports(name) for name in MODULES}


def _top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


PACKAGE_GRAPH: dict[str, set[str]] = defaultdict(set)
for _importer, _targets in MODULE_GRAPH.items():
    PACKAGE_GRAPH[_top(_importer)].update(_top(t) for t in _targets if _top(t) != _top(_importer))


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in MODULE_GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_walk_sees_the_project() -> None:
    assert set(LAYERS) <= set(PACKAGES)
    assert "workflows.loan.workflow" in MODULES and "workflows.loan.core" in MODULE_GRAPH["workflows.loan.workflow"]
    assert "workflows" in PACKAGE_GRAPH["activities"]


def test_the_top_level_is_the_cards() -> None:
    entries = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") and p.name not in {"data", "build", "dist"}}
    assert {"pyproject.toml", "workflows", "activities", "worker.py", "starter", "tests", "deploy"} <= entries
    assert len([p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")]) <= 12


def test_each_layer_imports_only_the_layers_below() -> None:
    offending = {p: sorted(PACKAGE_GRAPH[p] - allowed) for p, allowed in LAYERS.items() if PACKAGE_GRAPH[p] - allowed}
    assert offending == {}


def test_no_import_cycle_between_top_level_packages() -> None:
    assert _cycles(PACKAGE_GRAPH) == []


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(MODULE_GRAPH) == []


def test_the_domain_is_wire_free() -> None:
    assert PACKAGE_GRAPH["domain"] == set()


def test_workflow_code_reaches_no_providers_wire() -> None:
    # Not even through a module it imports: a provider's vocabulary stops at its adapter's edge.
    reached = {m: sorted(t for t in _reachable(m) if _top(t) != "workflows" and _top(t) != "domain") for m in MODULES}
    offending = {m: targets for m, targets in reached.items() if _top(m) == "workflows" and targets}
    assert offending == {}


def test_shipped_code_never_imports_development_tools_or_tests() -> None:
    offending = {
        m: sorted(t for t in targets if not is_shipped(t))
        for m, targets in MODULE_GRAPH.items()
        if is_shipped(m) and any(not is_shipped(t) for t in targets)
    }
    assert offending == {}


def test_no_shipped_name_is_a_standard_library_module() -> None:
    # Installed in site-packages, a package named like a stdlib module loses to it ("mailbox").
    assert shipped_top_level() & set(sys.stdlib_module_names) == set()
    assert "worker" in shipped_modules() and "dev" not in shipped_modules()


def test_workflow_modules_stay_small_and_flat() -> None:
    # One job per module; a class composed of parts, not assembled from a tower of bases.
    for name, path in MODULES.items():
        if _top(name) != "workflows":
            continue
        text = path.read_text()
        assert len(text.splitlines()) <= 420, f"{name} has {len(text.splitlines())} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert len(node.bases) <= 2, f"{name}.{node.name} has {len(node.bases)} bases"
