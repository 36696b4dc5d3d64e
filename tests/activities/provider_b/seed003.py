"""Seed 003's JSON examples, which ``tests.seed_examples`` cannot cut apart.

Its first block (``"client": {...},`` with no closing brace) never balances, so the generic
extractor swallows the rest of the page into it (``003:11``). Here each example is found by the
line that starts it — the "3. Payload" heading, the 400 body's ``"data"`` line — and cut and
repaired with the same helpers.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import simplejson

from tests.seed_examples import SEEDS, _blocks, _repair


@cache
def _lines() -> tuple[str, ...]:
    return tuple(next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8").splitlines())


def _block_from(start: int) -> Any:
    [(_, text), *_rest] = _blocks(list(_lines()[start:]))
    repaired, truncated = _repair(text)
    assert not truncated
    return simplejson.loads(repaired, use_decimal=True)


def payload() -> Any:
    """§3 "Payload": the whole request body (``operation`` and ``client``)."""
    return _block_from(_lines().index("3. Payload") + 1)


def error_400() -> Any:
    """ "Resposta Erro (400)": the body whose ``data`` is the error as a JSON string."""
    lines = _lines()
    start = next(i for i, line in enumerate(lines) if line.startswith('"data": "{'))
    return _block_from(start - 1)


def success_fields() -> list[str]:
    """The fields the 200 answer's "Dados relevantes" sketch names (typographic quotes: not JSON)."""
    lines = _lines()
    start = lines.index("- Principais Respostas (200 OK)")
    sketch = "\n".join(lines[start : start + 12])
    return re.findall(r"“(\w+)”", sketch)
