"""The layout holds: no two top-level packages import each other (directly or round a longer loop),
no module imports one that imports it back, the domain is wire-free, and shipped code never
imports the development tools (the sandbox, the local stack, the benchmark, the tests)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests", "deploy", "spec", "data", "build", "dist"}
PACKAGES = sorted(
    p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_CODE
)
TOP_MODULES = ["worker", "dev"]


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


def test_the_walk_sees_the_project() -> None:
    assert {"domain", "provider", "loan", "mailbox", "gateway", "starter"} <= set(PACKAGES)
    assert "loan.workflow" in MODULES and "loan.core" in MODULE_GRAPH["loan.workflow"]
    assert "provider" in PACKAGE_GRAPH["loan"]


def test_no_import_cycle_between_top_level_packages() -> None:
    assert _cycles(PACKAGE_GRAPH) == []


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(MODULE_GRAPH) == []


def test_the_domain_is_wire_free() -> None:
    assert PACKAGE_GRAPH["domain"] == set()


def test_the_provider_wire_knows_only_the_domain() -> None:
    assert PACKAGE_GRAPH["provider"] <= {"domain"}


def test_shipped_code_never_imports_development_tools() -> None:
    development = {"sandbox", "devstack", "bench", "tests"}
    shipped = {"domain", "provider", "pricing", "loan", "mailbox", "gateway", "starter", "runtime", "codec", "worker"}
    offending = {p: sorted(PACKAGE_GRAPH[p] & development) for p in shipped if PACKAGE_GRAPH[p] & development}
    assert offending == {}


def test_workflow_modules_stay_small() -> None:
    # One job per module: the loan's stages, its Updates, its plumbing, its facts reducer apart.
    for name in ("loan.workflow", "loan.operator", "loan.core", "loan.facts", "mailbox.workflow"):
        lines = len(MODULES[name].read_text().splitlines())
        assert lines <= 420, f"{name} has {lines} lines"
