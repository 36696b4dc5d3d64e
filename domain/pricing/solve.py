"""Disbursed-amount mode and rate mode: the issue amount, or the monthly rate, that releases an amount."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain import ptbr
from domain.money import round_money, round_places
from domain.pricing.product import ProductConfig
from domain.pricing.schedule import (
    MAX_SOLVED_MONTHLY_RATE,
    OptionDates,
    PricingError,
    Rates,
    price_installment,
    rates_for,
    released_for_issue,
)


def issue_amount(
    product: ProductConfig,
    rates: Rates,
    dates: OptionDates,
    factors: Sequence[Decimal],
    pv_factor: Decimal,
    target: Decimal,
) -> Decimal:
    """The smallest issue amount (in centavos) whose released amount reaches ``target``.

    Released grows by just under a centavo per centavo of issue, so there is almost always an
    exact match; when rounding skips it, the borrower gets the centavo above, never below.
    """

    def released(issue: Decimal) -> Decimal:
        return released_for_issue(product, rates, dates, issue)

    step = Decimal("0.01")
    ratio = released(target) / target  # ≈ 1 − IOF − percentage fees
    guess = round_money(target / ratio) if ratio > 0 else target
    low, high = guess - 50 * step, guess + 50 * step
    while released(low) >= target:
        low -= 50 * step
    while released(high) < target:
        high += 50 * step
    while high - low > step:  # invariant: released(low) < target <= released(high)
        middle = round_money((low + high) / 2)
        if released(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def monthly_rate(product: ProductConfig, dates: OptionDates, installment: Decimal, target: Decimal) -> Decimal:
    """The monthly rate (8 places) at which this option releases ``target`` for this installment."""

    def released(monthly: Decimal) -> Decimal:
        return price_installment(product, rates_for(monthly), installment, [dates], with_cet=False)[
            0
        ].disbursed_issue_amount

    eighth = Decimal("0.00000001")
    low, high = eighth, MAX_SOLVED_MONTHLY_RATE
    if released(high) > target or released(low) < target:
        raise PricingError(
            "financial.disbursed_amount",
            f"no monthly rate up to {ptbr.rate(MAX_SOLVED_MONTHLY_RATE)} releases {ptbr.money(target)} "
            f"with installments of {ptbr.money(installment)}",
        )
    while high - low > eighth:  # released falls as the rate rises: released(low) >= target > released(high)
        middle = round_places((low + high) / 2, 8)
        if middle in (low, high):
            break
        if released(middle) >= target:
            low = middle
        else:
            high = middle
    return low if abs(released(low) - target) <= abs(released(high) - target) else high
