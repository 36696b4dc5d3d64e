"""The fast solvers give what the engine's first solvers gave: a search over whole schedules.

The reference searches below are those first solvers as they were written (a bisection over
centavos of issue amount, one over monthly rates to 8 places), each step pricing the whole
schedule in Decimal with the seed-verified arithmetic, and the daily rate taken with Decimal's own
power. The engine must land on the same centavo and the same rate — also where rounding makes the
released amount step back a centavo, where the answer depends on the path the bisection takes —
and price the same option from it; for every product, the second provider's included.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from domain import ptbr
from domain.money import round_money, round_places
from domain.pricing import schedule, solve
from domain.pricing.engine import PricingError, QuoteRequest, quote
from domain.pricing.product import (
    INSS_DEFAULT_PRODUCT,
    PROVIDER_B_PRODUCT,
    SEED_004_SIMULATION_PRODUCT,
    ProductConfig,
)
from domain.pricing.schedule import MAX_SOLVED_MONTHLY_RATE, OptionDates, Rates

PRODUCTS = [INSS_DEFAULT_PRODUCT, SEED_004_SIMULATION_PRODUCT, PROVIDER_B_PRODUCT]
WIDE = Context(prec=20)

products = st.sampled_from(PRODUCTS)
disbursements = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
gaps = st.integers(min_value=0, max_value=70)  # requested first due date, days after the disbursement
counts = st.one_of(st.integers(1, 96), st.sampled_from([12, 24, 36, 48, 60, 72, 84, 96]))
windows = st.integers(0, 2)

searches = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_rates(monthly: Decimal) -> Rates:
    with localcontext(WIDE):
        annual = round_places((1 + monthly) ** 12 - 1, 8)
        daily = (1 + annual) ** (Decimal(1) / Decimal(365)) - 1
    return Rates(monthly=monthly, annual=annual, daily=daily)


def reference_issue_amount(product: ProductConfig, rates: Rates, dates: OptionDates, target: Decimal) -> Decimal:
    def released(issue: Decimal) -> Decimal:
        return schedule.released_for_issue(product, rates, dates, issue)

    step = Decimal("0.01")
    ratio = released(target) / target
    guess = round_money(target / ratio) if ratio > 0 else target
    low, high = guess - 50 * step, guess + 50 * step
    while released(low) >= target:
        low -= 50 * step
    while released(high) < target:
        high += 50 * step
    while high - low > step:
        middle = round_money((low + high) / 2)
        if released(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def reference_monthly_rate(
    product: ProductConfig, dates: OptionDates, installment: Decimal, target: Decimal
) -> Decimal:
    def released(monthly: Decimal) -> Decimal:
        [option] = schedule.price_installment(product, reference_rates(monthly), installment, [dates], with_cet=False)
        return option.disbursed_issue_amount

    eighth = Decimal("0.00000001")
    low, high = eighth, MAX_SOLVED_MONTHLY_RATE
    if released(high) > target or released(low) < target:
        raise PricingError(
            "financial.disbursed_amount",
            f"no monthly rate up to {ptbr.rate(MAX_SOLVED_MONTHLY_RATE)} releases {ptbr.money(target)} "
            f"with installments of {ptbr.money(installment)}",
        )
    while high - low > eighth:
        middle = round_places((low + high) / 2, 8)
        if middle in (low, high):
            break
        if released(middle) >= target:
            low = middle
        else:
            high = middle
    return low if abs(released(low) - target) <= abs(released(high) - target) else high


def _window(request: QuoteRequest, product: ProductConfig) -> list[OptionDates]:
    return [
        schedule.option_dates(
            request.disbursement_date + timedelta(days=i),
            request.first_due_date,
            request.number_of_installments,
            product,
        )
        for i in range(request.limit_days_to_disburse + 1)
    ]


def _request(disbursement: date, gap: int, count: int, window: int, **amounts: Decimal | None) -> QuoteRequest:
    return QuoteRequest(
        first_due_date=disbursement + timedelta(days=gap),
        disbursement_date=disbursement,
        limit_days_to_disburse=window,
        number_of_installments=count,
        installment_face_value=amounts.get("installment"),
        disbursed_amount=amounts.get("disbursed"),
        monthly_interest_rate=amounts.get("rate"),
    )


def _check_issue_amounts(request: QuoteRequest, product: ProductConfig) -> None:
    assert request.disbursed_amount is not None and request.monthly_interest_rate is not None
    rates = reference_rates(request.monthly_interest_rate)
    result = quote(request, product)
    for option, dates in zip(result.options, _window(request, product), strict=True):
        expected = reference_issue_amount(product, rates, dates, request.disbursed_amount)
        assert option.issue_amount == expected, (option.disbursement_date, option.issue_amount, expected)
        assert request.disbursed_amount <= option.disbursed_issue_amount


def _check_rates(request: QuoteRequest, product: ProductConfig) -> None:
    assert request.installment_face_value is not None and request.disbursed_amount is not None
    expected: list[Decimal] | PricingError = []
    try:
        expected = [
            reference_monthly_rate(product, dates, request.installment_face_value, request.disbursed_amount)
            for dates in _window(request, product)
        ]
    except PricingError as error:
        expected = error
    event("refused" if isinstance(expected, PricingError) else "solved")
    if isinstance(expected, PricingError):
        with pytest.raises(PricingError) as raised:
            quote(request, product)
        assert str(raised.value) == str(expected)
        return
    result = quote(request, product)
    assert [str(o.rates.monthly) for o in result.options] == [str(r) for r in expected]
    for option, dates in zip(result.options, _window(request, product), strict=True):
        # and the option is the schedule at that rate, CET included
        rates = reference_rates(option.rates.monthly)
        assert [option] == schedule.price_installment(product, rates, request.installment_face_value, [dates])


@searches
@given(
    disbursements,
    gaps,
    counts,
    windows,
    st.decimals(Decimal("50.00"), Decimal("250000.00"), places=2),
    st.decimals(Decimal("0.0005"), Decimal("0.06"), places=6),
    products,
)
def test_the_issue_amount_is_the_reference_searchs(disbursement, gap, count, window, amount, rate, product) -> None:
    _check_issue_amounts(_request(disbursement, gap, count, window, disbursed=amount, rate=rate), product)


@searches
@given(
    disbursements,
    gaps,
    counts,
    windows,
    st.decimals(Decimal("20.00"), Decimal("5000.00"), places=2),
    st.one_of(
        st.decimals(Decimal("0.0005"), Decimal("0.03"), places=8),
        st.decimals(Decimal("0.03"), Decimal("0.2"), places=8),
    ),
    st.one_of(st.integers(-300, 300), st.integers(-(10**7), 10**7)),
    products,
)
def test_the_rate_is_the_reference_searchs(disbursement, gap, count, window, installment, rate, cents, product) -> None:
    """The target: what some rate releases (so that it is reachable), moved by a few centavos or
    by far (often out of reach, where both refuse it with the same words)."""
    forward = quote(_request(disbursement, gap, count, 0, installment=installment, rate=rate), product).first
    target = max(forward.disbursed_issue_amount + Decimal(cents).scaleb(-2), Decimal("0.01"))
    _check_rates(_request(disbursement, gap, count, window, installment=installment, disbursed=target), product)


# Found by searching random requests: around the answer the released amount steps back a centavo,
# so the rates (or issue amounts) that reach the target are not one interval, and which of them the
# bisection returns depends on the path it takes.
STEPPING_BACK_RATES = [
    (date(2026, 9, 6), 12, "2503.94", "25716.45"),
    (date(2026, 11, 8), 48, "631.66", "22260.46"),
]


@pytest.mark.parametrize(("disbursement", "count", "installment", "target"), STEPPING_BACK_RATES)
def test_the_rate_where_released_steps_back(disbursement: date, count: int, installment: str, target: str) -> None:
    request = _request(disbursement, 30, count, 0, installment=Decimal(installment), disbursed=Decimal(target))
    [dates] = _window(request, SEED_004_SIMULATION_PRODUCT)
    answer = reference_monthly_rate(SEED_004_SIMULATION_PRODUCT, dates, Decimal(installment), Decimal(target))
    around = [
        schedule.price_installment(
            SEED_004_SIMULATION_PRODUCT, reference_rates(answer + Decimal(k).scaleb(-8)), Decimal(installment), [dates]
        )[0].disbursed_issue_amount
        for k in range(-4, 4)
    ]
    assert any(later > earlier for earlier, later in pairwise(around))  # not monotone here
    assert quote(request, SEED_004_SIMULATION_PRODUCT).first.rates.monthly == answer


def test_the_issue_amount_where_released_steps_back() -> None:
    request = _request(date(2025, 9, 26), 30, 6, 0, disbursed=Decimal("47514.50"), rate=Decimal("0.00512"))
    [dates] = _window(request, SEED_004_SIMULATION_PRODUCT)
    rates = reference_rates(Decimal("0.00512"))
    answer = reference_issue_amount(SEED_004_SIMULATION_PRODUCT, rates, dates, Decimal("47514.50"))
    around = [
        schedule.released_for_issue(SEED_004_SIMULATION_PRODUCT, rates, dates, answer + Decimal(k).scaleb(-2))
        for k in range(-2, 3)
    ]
    assert [str(a) for a in around] == ["47514.48", "47514.49", "47514.50", "47514.49", "47514.50"]
    assert quote(request, SEED_004_SIMULATION_PRODUCT).first.issue_amount == answer == Decimal("48539.16")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    disbursements,
    counts,
    st.decimals(Decimal("100.00"), Decimal("3000.00"), places=2),
    st.decimals(Decimal("0.005"), Decimal("0.03"), places=6),
    products,
)
def test_without_the_float_shortcuts_every_step_is_the_decimal_schedule(
    disbursement, count, installment, rate, product
) -> None:
    """With no float figure ever certain enough, every step falls back to the schedule in Decimal:
    the fallback is exercised, and gives the same answers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solve, "SAFETY", 1e30)
        forward = quote(_request(disbursement, 30, count, 0, installment=installment, rate=rate), product).first
        _check_rates(
            _request(disbursement, 30, count, 1, installment=installment, disbursed=forward.disbursed_issue_amount),
            product,
        )
        _check_issue_amounts(
            _request(disbursement, 30, count, 1, disbursed=forward.disbursed_issue_amount, rate=rate), product
        )


@settings(max_examples=400, deadline=None)
@given(st.decimals(Decimal("0.00000001"), Decimal("7.92"), places=8))
# Its power's last place near half-way, where the 20-digit 1/365 decides it (found by the rate search).
@example(Decimal("0.65260925"))
def test_the_daily_rate_is_decimals_power(annual: Decimal) -> None:
    with localcontext(WIDE):
        expected = (1 + annual) ** (Decimal(1) / Decimal(365)) - 1
    assert str(schedule.daily_rate(annual)) == str(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    disbursements,
    gaps,
    counts,
    st.integers(0, 4),
    st.decimals(Decimal("20.00"), Decimal("5000.00"), places=2),
    st.decimals(Decimal("0.0005"), Decimal("0.06"), places=4),
    products,
)
def test_the_cet_is_the_newton_searchs(disbursement, gap, count, window, installment, rate, product) -> None:
    """The CET from its expansion is the one the first engine's Newton search gave, option after
    option, each starting where the previous one ended."""
    request = _request(disbursement, gap, count, window, installment=installment, rate=rate)
    result = quote(request, product)
    guess = float(result.first.rates.daily) * 1.05
    for option in result.options:
        totals = [row.total for row in option.rows]
        monthly, annual, guess = schedule.cet(
            option.disbursed_issue_amount, installment, totals, [row.calendar_days for row in option.rows], guess
        )
        assert (option.monthly_cet, option.annual_cet) == (monthly, annual)


def test_when_the_expansion_is_not_certain_the_newton_search_decides() -> None:
    """Without the expansion's answer, each option's CET is the Newton search's, replayed as the
    first engine ran it: each option starting where the previous one ended."""
    request = _request(date(2026, 2, 9), 35, 84, 4, installment=Decimal("412.37"), rate=Decimal("0.0179"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schedule, "cet_fast", lambda *_: None)
        result = quote(request, PROVIDER_B_PRODUCT)
    guess = float(result.first.rates.daily) * 1.05
    for option in result.options:
        totals = [row.total for row in option.rows]
        monthly, annual, guess = schedule.cet(
            option.disbursed_issue_amount, Decimal("412.37"), totals, [row.calendar_days for row in option.rows], guess
        )
        assert (option.monthly_cet, option.annual_cet) == (monthly, annual)
    assert result.options == quote(request, PROVIDER_B_PRODUCT).options  # and the expansion agrees


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 20_000_000))
def test_the_rate_solvers_annual_rate_is_the_decimal_one(units: int) -> None:
    """Its floats give the annual rate to 8 places that the Decimal arithmetic gives."""
    annual = schedule.annual_rate(Decimal(units).scaleb(-8))
    assert solve._RateModel._lam(units) == math.log1p(float(annual)) / 365.0
