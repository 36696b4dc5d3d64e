"""Test data that is valid by construction: CPFs with a chosen first digit, JPEGs of a chosen size."""

from __future__ import annotations

import io
import random

from PIL import Image


def _digit(values: list[int]) -> int:
    weights = range(len(values) + 1, 1, -1)
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def make_cpf(first_digit: int, rng: random.Random | None = None) -> str:
    """A valid CPF starting with ``first_digit`` (the sandbox's scenario selector)."""
    rng = rng or random.Random()
    while True:
        base = [first_digit] + [rng.randrange(10) for _ in range(8)]
        if len(set(base)) > 1:
            break
    first = _digit(base)
    second = _digit([*base, first])
    return "".join(map(str, [*base, first, second]))


def jpeg(width: int = 300, height: int = 300, color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def png(width: int = 300, height: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()
