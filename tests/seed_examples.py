"""The JSON examples of the seed manuals, extracted verbatim from spec/seeds.

The manuals are web pages flattened to text, so their JSON needs four mechanical repairs before a
parser accepts it; each is listed here and applied nowhere else:

1. markdown escapes: ``\\<CPF\\>`` is ``<CPF>``;
2. ``// comment`` tails inside a body (004 §2 case 2);
3. trailing commas before ``}`` or ``]`` (001/002/004 §11 collateral webhook, 001 §3 request);
4. elided list items (``"< ... x24 >"``, ``"..."``) are removed, and the example is marked
   ``truncated``: it is a shape, never numeric ground truth.

Blocks that are not JSON at all (seed 003's "Dados relevantes" sketch with typographic quotes)
are returned with ``obj = None`` and ``error`` saying why, so a test can list them explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import simplejson

SEEDS = Path(__file__).resolve().parent.parent / "spec" / "seeds"

_LABELS = (
    "Request Body",
    "Response Body",
    "Webhook Body",
    "body.json",
    "payload.json",
    "response.json",
    "Request",
    "Response",
    "Payload",
    "Dados relevantes",
    "Exemplo de objeto financial com rebates",
)
_ELISION = re.compile(r'^\s*"\s*(<\s*\.\.\.[^"]*>|\.\.\.)\s*"\s*,?\s*$')


@dataclass(frozen=True)
class SeedExample:
    seed: str  # "001", "004", ...
    line: int  # 1-based line of the opening brace in the seed file
    label: str  # the nearest heading above it ("Webhook Body", "Response Body", ...)
    section: str  # the nearest numbered section title above it
    text: str  # the block as printed
    obj: Any  # parsed JSON (numbers as Decimal), or None
    truncated: bool
    error: str | None

    @property
    def name(self) -> str:
        return f"{self.seed}:{self.line}"


def _blocks(lines: list[str]) -> list[tuple[int, str]]:
    blocks: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if stripped.startswith("{") and not stripped.startswith("{}"):
            depth, start, chunk = 0, index, []
            while index < len(lines):
                line = lines[index]
                chunk.append(line)
                depth += line.count("{") - line.count("}")
                index += 1
                if depth <= 0:
                    break
            blocks.append((start, "\n".join(chunk)))
        else:
            index += 1
    return blocks


def _repair(text: str) -> tuple[str, bool]:
    text = text.replace("\\<", "<").replace("\\>", ">")
    out, truncated = [], False
    for raw in text.splitlines():
        if _ELISION.match(raw):
            truncated = True
            continue
        out.append(re.sub(r'\s//[^"]*$', "", raw))
    joined = "\n".join(out)
    if re.search(r'"<\s*\.\.\.[^"]*>"|"\.\.\."', joined):
        truncated = True
        joined = re.sub(r',\s*"<\s*\.\.\.[^"]*>"', "", joined)
        joined = re.sub(r',\s*"\.\.\."', "", joined)
    joined = re.sub(r",(\s*[}\]])", r"\1", joined)
    return joined, truncated


def _heading(lines: list[str], start: int, choices: tuple[str, ...]) -> str:
    for back in range(start - 1, max(start - 40, -1), -1):
        candidate = lines[back].strip().lstrip("- ").strip()
        for label in choices:
            if candidate == label or candidate.startswith(label + " "):
                return label
    return ""


def _section(lines: list[str], start: int) -> str:
    for back in range(start - 1, -1, -1):
        if re.match(r"^\d{1,2}\s*[-.]\s+\S", lines[back].strip()):
            return lines[back].strip()
    return ""


@cache
def examples(seed: str) -> tuple[SeedExample, ...]:
    path = next(SEEDS.glob(f"{seed}_*.txt"))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for start, text in _blocks(lines):
        repaired, truncated = _repair(text)
        try:
            obj, error = simplejson.loads(repaired, use_decimal=True), None
        except ValueError as exc:
            obj, error = None, str(exc)
        found.append(
            SeedExample(
                seed=seed,
                line=start + 1,
                label=_heading(lines, start, _LABELS),
                section=_section(lines, start),
                text=text,
                obj=obj,
                truncated=truncated,
                error=error,
            )
        )
    return tuple(found)


def all_examples() -> tuple[SeedExample, ...]:
    return tuple(e for seed in ("001", "002", "003", "004") for e in examples(seed))


def plain(value: Any) -> Any:
    """JSON-comparable form: Decimal → Decimal (exact), nested structures copied."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return Decimal(str(value))
    return value
