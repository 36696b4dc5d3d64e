"""What ships, read from the one rule in pyproject.toml (``[tool.setuptools.packages.find]`` and
``py-modules``), the way setuptools reads it when it builds the wheel: nothing here keeps a list."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


@cache
def _setuptools() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return config


def shipped_packages() -> list[str]:
    """Every package the wheel holds (dotted names, subpackages included)."""
    find = _setuptools()["packages"]["find"]
    return sorted(find_packages(where=str(ROOT), include=find.get("include", ["*"]), exclude=find.get("exclude", ())))


def shipped_modules() -> list[str]:
    """The top-level modules the wheel holds beside its packages (``worker``)."""
    return [str(m) for m in _setuptools().get("py-modules", [])]


def shipped_top_level() -> set[str]:
    """The names the wheel puts at the top of site-packages."""
    return {p.split(".")[0] for p in shipped_packages()} | set(shipped_modules())


def is_shipped(module: str) -> bool:
    packages = set(shipped_packages())
    return module in shipped_modules() or module in packages or module.rsplit(".", 1)[0] in packages
