"""Invariants of the engine on random requests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.pricing.engine import QuoteMode, QuoteRequest, quote
from domain.pricing.product import INSS_DEFAULT_PRODUCT, SEED_004_SIMULATION_PRODUCT
from domain.pricing.schedule import option_dates

CENT = Decimal("0.01")

disbursements = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
rates = st.decimals(min_value=Decimal("0.005"), max_value=Decimal("0.0185"), places=4)
counts = st.integers(min_value=1, max_value=96)
installments = st.decimals(min_value=Decimal("20.00"), max_value=Decimal("3000.00"), places=2)
products = st.sampled_from([SEED_004_SIMULATION_PRODUCT, INSS_DEFAULT_PRODUCT])

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
slow = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _request(disbursement: date, count: int, *, installment=None, disbursed=None, rate=None, window=2) -> QuoteRequest:
    return QuoteRequest(
        first_due_date=disbursement + timedelta(days=30),
        disbursement_date=disbursement,
        limit_days_to_disburse=window,
        number_of_installments=count,
        installment_face_value=installment,
        disbursed_amount=disbursed,
        monthly_interest_rate=rate,
    )


@fast
@given(disbursements, counts, installments, rates, products)
def test_installment_mode_invariants(disbursement, count, installment, rate, product) -> None:
    result = quote(_request(disbursement, count, installment=installment, rate=rate), product)
    assert result.mode == QuoteMode.INSTALLMENT
    assert [o.disbursement_date for o in result.options] == [disbursement + timedelta(days=i) for i in range(3)]
    for option in result.options:
        rows = option.rows
        assert len(rows) == count
        assert all(r.total == installment for r in rows)  # no last-installment adjustment
        # Amortisations repay the issue amount to within a centavo, balances never go negative.
        assert abs(sum(r.amortization for r in rows) - option.issue_amount) <= CENT
        assert all(r.due_principal >= 0 and r.interest >= 0 for r in rows)
        # Only a first period long enough for its interest to exceed the installment amortises less
        # than nothing (capitalised interest); every later installment repays principal.
        assert all(r.amortization > 0 for r in rows[1:])
        assert all(b.due_principal - b.amortization == a.due_principal for b, a in pairwise(rows))
        # Interest plus amortisation is the installment, row by row.
        assert all(r.interest + r.amortization == installment for r in rows)
        # Dates: strictly increasing business days, at least the product's gap before the first.
        assert all(a.due_date < b.due_date for a, b in pairwise(rows))
        assert all(product.calendar.is_business_day(r.due_date) for r in rows)
        assert (rows[0].due_date - option.disbursement_date).days >= product.min_days_to_first_due
        assert sum(r.calendar_days for r in rows) == rows[-1].cumulative_days
        # IOF: the rounded sum of its parts; money the borrower receives never exceeds the issue.
        assert abs(option.base_iof + option.additional_iof - option.total_iof) <= Decimal("0.005")
        assert option.disbursed_issue_amount < option.issue_amount
        # The CET is at least the contract rate: IOF and fees only add to the cost.
        assert option.monthly_cet >= rate - Decimal("0.0001")


@slow
@given(disbursements, st.integers(1, 96), st.decimals(Decimal("300"), Decimal("50000"), places=2), rates)
def test_disbursed_amount_mode_releases_the_amount_asked_and_round_trips(disbursement, count, amount, rate) -> None:
    product = INSS_DEFAULT_PRODUCT
    result = quote(_request(disbursement, count, disbursed=amount, rate=rate, window=0), product)
    option = result.first
    assert result.mode == QuoteMode.DISBURSED
    # Solved, not guessed: the borrower receives the amount asked (a centavo more when rounding skips it).
    assert amount <= option.disbursed_issue_amount <= amount + CENT
    # The schedule repays exactly the issue amount; only the last installment absorbs the rounding.
    assert sum(r.amortization for r in option.rows) == option.issue_amount
    assert all(r.total == option.installment_value for r in option.rows[:-1])
    # Round trip: pricing that installment in installment mode releases the same amount, up to the
    # effect of rounding the installment to a centavo.
    back = quote(_request(disbursement, count, installment=option.installment_value, rate=rate, window=0), product)
    present_value_of_half_cent = Decimal("0.005") * count
    assert abs(back.first.disbursed_issue_amount - amount) <= present_value_of_half_cent + 2 * CENT


@slow
@given(disbursements, st.integers(6, 96), st.decimals(Decimal("50"), Decimal("2000"), places=2), rates)
def test_rate_mode_solves_the_rate_that_releases_the_amount(disbursement, count, installment, rate) -> None:
    product = INSS_DEFAULT_PRODUCT
    forward = quote(_request(disbursement, count, installment=installment, rate=rate, window=0), product).first
    solved = quote(
        _request(disbursement, count, installment=installment, disbursed=forward.disbursed_issue_amount, window=0),
        product,
    ).first
    assert abs(solved.disbursed_issue_amount - forward.disbursed_issue_amount) <= 2 * CENT
    assert abs(solved.rates.monthly - rate) <= Decimal("0.0001")


def test_product_rules_name_what_the_regulation_forbids() -> None:
    request = _request(date(2025, 3, 10), 120, installment=Decimal(100), rate=Decimal("0.019"))
    violations = {
        v.field: v
        for v in quote(
            request, SEED_004_SIMULATION_PRODUCT.model_copy(update={"inss_rules": INSS_DEFAULT_PRODUCT.inss_rules})
        ).violations
    }
    assert set(violations) == {"product.fees", "financial.number_of_installments", "financial.monthly_interest_rate"}
    assert "96" in violations["financial.number_of_installments"].message
    assert "IN PRES/INSS 181/2025" in violations["financial.number_of_installments"].source
    assert violations["financial.monthly_interest_rate"].message == (
        "monthly rate 1,90 % a.m. is above the cap of 1,85 % a.m."
    )
    assert not quote(
        _request(date(2025, 3, 10), 84, installment=Decimal(100), rate=Decimal("0.0185")), INSS_DEFAULT_PRODUCT
    ).violations


def test_a_due_day_a_short_month_lacks_comes_back_the_month_after() -> None:
    """The 30th asked: February has none (its last day, a Sunday in 2027, then the next business day),
    and March is due on the 30th again — not on the 28th February pushed the schedule to."""
    dates = option_dates(date(2026, 12, 24), date(2027, 1, 30), 5, INSS_DEFAULT_PRODUCT)
    # 2027-02-28 is a Sunday; 2027-05-30 a Sunday too (next business day: Monday the 31st).
    assert dates.due == (date(2027, 3, 1), date(2027, 3, 30), date(2027, 4, 30), date(2027, 5, 31), date(2027, 6, 30))


@fast
@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.2"), places=8),
    st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=120),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000000.00"), places=2),
)
def test_the_schedules_arithmetic_is_the_row_by_row_one(monthly, days, installment) -> None:
    """Growth, period rates, present value and the 10-place rounding, against the seed's formulas
    written out row by row (each operation at 20 digits, rounded half up where published)."""
    from decimal import ROUND_HALF_UP, localcontext

    from domain.pricing.schedule import CONTEXT, growth_and_rates, present_value_factor, rates_for
    from domain.pricing.schedule import _ten_places as ten_places

    rates = rates_for(monthly)
    factors, period_rates = growth_and_rates(rates, days)
    with localcontext(CONTEXT):
        expected_factors = [(1 + rates.daily) ** n for n in days]
        expected_rates = [f - 1 for f in expected_factors]
        total, discount = Decimal(0), Decimal(1)
        for factor in expected_factors:
            discount /= factor
            total += discount
        # and two half-way ties, which the provider rounds up
        interests = [installment * r for r in expected_rates] + [Decimal("0.00000000005"), Decimal("2.00000000025")]
        expected_ten = [i.quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP) for i in interests]
        assert ten_places(interests) == expected_ten
        assert [str(i) for i in ten_places(interests)] == [str(i) for i in expected_ten]
    assert factors == expected_factors and period_rates == expected_rates
    assert str(present_value_factor(factors)) == str(total)
