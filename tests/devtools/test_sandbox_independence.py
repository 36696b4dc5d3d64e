"""The sandboxes import nothing from the code they test (issue 25).

A sandbox is a test double of a provider: if it read the lender's models, status tables or pricing, it
would agree with them by construction, and no test could see where the lender reads a seed wrong. So no
module of a sandbox package, nor any development module it reaches (a sandbox may share independent
helpers, such as ``devtools.sandbox.clock``), imports a shipped package — what ships being read from
pyproject's ``[tool.setuptools.packages.find]`` (``tests.support.shipped``), the module graph from
``tests.test_layers`` (every import in a module, those inside functions included, parsed with ``ast``).
Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too, so those count as reached.
"""

from __future__ import annotations

import pytest

from tests.support.shipped import is_shipped
from tests.test_layers import MODULE_GRAPH, MODULES


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _reached_from(package: str) -> set[str]:
    """The package's modules and every non-shipped module they reach (with its parent packages)."""
    todo = [m for m in MODULES if m == package or m.startswith(f"{package}.")]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for target in [*MODULE_GRAPH[module], *_parents(module)]:
            if target in MODULES and not is_shipped(target) and target not in seen:
                todo.append(target)
    return seen


def shipped_imports(package: str) -> dict[str, list[str]]:
    """Each module the package reaches that imports shipped code, and what it imports."""
    found = {m: sorted(t for t in MODULE_GRAPH[m] if is_shipped(t)) for m in _reached_from(package)}
    return {m: targets for m, targets in sorted(found.items()) if targets}


def test_the_walk_sees_the_sandboxes_and_what_they_share() -> None:
    reached = _reached_from("devtools.sandbox_b")
    assert {"devtools.sandbox_b.app", "devtools.sandbox_b.pricing", "devtools.sandbox_b.__main__"} <= reached
    # Shared helpers count, and so does the package they live in.
    assert {"devtools.sandbox.journal", "devtools.sandbox.clock", "devtools.sandbox"} <= reached
    # The check can fail: the first sandbox's app imports the lender's wire (issue-25a decouples it).
    assert is_shipped("activities.wire") and not is_shipped("devtools.sandbox_b.app")


@pytest.mark.parametrize(
    "package",
    [
        "devtools.sandbox_b",
        pytest.param(
            "devtools.sandbox",
            marks=pytest.mark.xfail(strict=True, reason="issue 25: being decoupled on branch issue-25a"),
        ),
    ],
)
def test_a_sandbox_imports_nothing_that_ships(package: str) -> None:
    assert shipped_imports(package) == {}
