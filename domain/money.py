"""Rounding as the provider rounds: half-up, money to centavos, schedule figures to 10 places."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
_QUANTS = {n: Decimal(1).scaleb(-n) for n in range(0, 17)}


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_places(value: Decimal, places: int) -> Decimal:
    return value.quantize(_QUANTS[places], rounding=ROUND_HALF_UP)
