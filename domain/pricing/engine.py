"""The ``pre_price_days`` schedule, as the provider computes it (verified against seed 004).

Rates: annual = (1 + monthly)^12 − 1 rounded to 8 places; daily = (1 + annual)^(1/365) − 1, used
unrounded. Dates: the first due date's day of month, month after month, each moved to the next
business day; the requested first due date moves forward by whole months until it is far enough
from the disbursement (product settings). One disbursement option per calendar day of the window.

Installment mode: issue amount = round2(Σ installment / (1 + daily)^cumulative_days); interest runs
on the exact present value, interest_k = balance × ((1 + daily)^days_k − 1); every installment is
the face value. IOF: Σ amortization_k (10 places) × 0.0082 % × min(cumulative days, 365) plus
0.38 % of the issue amount, rounded to cents. Fees from the product; CET from the daily internal
rate of return of what the borrower receives against the installments.

Disbursed-amount mode and rate-solving mode have no complete example in the seeds; they are solved
with the same arithmetic (see :func:`quote`), not guessed.

Money is Decimal throughout. Only the CET's internal rate of return is searched in binary floating
point: it is published with 4 and 6 decimals, ten orders of magnitude above that arithmetic's error.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate, pairwise
from operator import mul, sub
from typing import NamedTuple

from domain import ptbr
from domain.calendar import BankCalendar
from domain.money import round_money, round_places
from domain.pricing.product import AmountType, FeeType, ProductConfig, RuleViolation, product_rule_violations
from domain.regulation import IOF_ADDITIONAL_RATE, IOF_DAILY_RATE, IOF_MAX_DAYS

_CONTEXT = Context(prec=20)
ONE = Decimal(1)
ZERO = Decimal(0)
_ONE_OVER_365 = Decimal(1) / Decimal(365)
MAX_SOLVED_MONTHLY_RATE = Decimal("0.2")


class PricingError(ValueError):
    """A request the engine cannot price, saying which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class QuoteMode(StrEnum):
    INSTALLMENT = "installment_face_value"  # installment + rate fixed: the disbursed amount follows
    DISBURSED = "disbursed_amount"  # disbursed amount + rate fixed: the installment follows
    RATE = "rate"  # installment + disbursed amount fixed: the rate is solved


@dataclass(frozen=True)
class Rates:
    monthly: Decimal
    annual: Decimal
    daily: Decimal

    @property
    def daily_display(self) -> Decimal:
        return round_places(self.daily, 8)


@lru_cache(maxsize=1024)
def rates_for(monthly: Decimal) -> Rates:
    with localcontext(_CONTEXT):
        annual = round_places((ONE + monthly) ** 12 - ONE, 8)
        daily = (ONE + annual) ** _ONE_OVER_365 - ONE
    return Rates(monthly=monthly, annual=annual, daily=daily)


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def first_due_date(requested: date, disbursement: date, product: ProductConfig) -> date:
    """The (unadjusted) first due date: the requested one, moved forward by whole months until the
    adjusted date is ``min_days_to_first_due`` after the disbursement and, when the disbursement
    falls after ``disbursement_cutoff_day``, in the second month after it (else the first)."""
    return _first_due(
        requested, disbursement, product.calendar, product.min_days_to_first_due, product.disbursement_cutoff_day
    )


def _first_due(requested: date, disbursement: date, calendar: BankCalendar, min_days: int, cutoff: int) -> date:
    months_ahead = 2 if disbursement.day > cutoff else 1
    earliest_month = add_months(disbursement.replace(day=1), months_ahead)
    for months in range(0, 12 * 50):
        candidate = add_months(requested, months)
        adjusted = calendar.next_business_day(candidate)
        if (adjusted - disbursement).days >= min_days and candidate >= earliest_month:
            return candidate
    raise PricingError("financial.first_due_date", "no first due date fits the disbursement date")


@lru_cache(maxsize=4096)
def _due_dates(first: date, count: int, calendar: BankCalendar) -> tuple[date, ...]:
    return tuple(calendar.next_business_day(add_months(first, k)) for k in range(count))


class InstallmentRow(NamedTuple):
    number: int
    due_date: date  # the provider prints the business-day-adjusted date in both fields (seed 004)
    calendar_days: int
    cumulative_days: int
    workdays: int
    due_principal: Decimal  # 10 places
    interest: Decimal  # 10 places (pre_fixed_amount)
    amortization: Decimal  # 10 places (principal_amortization_amount)
    tax: Decimal  # daily IOF on this amortization, unrounded (tax_amount)
    total: Decimal  # total_amount


@dataclass(frozen=True)
class FeeCharge:
    fee_type: FeeType
    amount_type: AmountType
    amount: Decimal
    fee_amount: Decimal


@dataclass(frozen=True)
class QuoteOption:
    disbursement_date: date
    first_due_date: date  # adjusted
    rates: Rates
    installment_value: Decimal
    rows: tuple[InstallmentRow, ...]
    issue_amount: Decimal
    base_iof: Decimal
    additional_iof: Decimal
    total_iof: Decimal
    fees: tuple[FeeCharge, ...]
    contract_fee_amount: Decimal
    disbursed_issue_amount: Decimal  # what reaches the borrower
    assignment_amount: Decimal
    total_interest: Decimal
    monthly_cet: Decimal  # 4 places
    annual_cet: Decimal  # 6 places

    @property
    def last_due_date(self) -> date:
        return self.rows[-1].due_date


@dataclass(frozen=True)
class Quote:
    mode: QuoteMode
    options: tuple[QuoteOption, ...]
    violations: tuple[RuleViolation, ...]

    @property
    def first(self) -> QuoteOption:
        return self.options[0]


# ---------------------------------------------------------------- one option


@dataclass(frozen=True)
class _Dates:
    disbursement: date
    first_due: date
    due: tuple[date, ...]
    days: tuple[int, ...]
    cumulative: tuple[int, ...]
    workdays: tuple[int, ...]


@lru_cache(maxsize=4096)
def _shared_dates(
    first: date, count: int, calendar: BankCalendar
) -> tuple[tuple[date, ...], tuple[int, ...], tuple[int, ...]]:
    """Due dates, and the days and workdays between consecutive ones (from the 2nd installment on)."""
    due = _due_dates(first, count, calendar)
    days = tuple((b - a).days for a, b in pairwise(due))
    workdays = tuple(calendar.business_days_between(a, b) for a, b in pairwise(due))
    return due, days, workdays


def _dates(disbursement: date, requested_first_due: date, count: int, product: ProductConfig) -> _Dates:
    return _dates_cached(
        disbursement,
        requested_first_due,
        count,
        product.calendar,
        product.min_days_to_first_due,
        product.disbursement_cutoff_day,
    )


@lru_cache(maxsize=8192)
def _dates_cached(
    disbursement: date, requested_first_due: date, count: int, calendar: BankCalendar, min_days: int, cutoff: int
) -> _Dates:
    first = _first_due(requested_first_due, disbursement, calendar, min_days, cutoff)
    due, tail_days, tail_workdays = _shared_dates(first, count, calendar)
    first_days = (due[0] - disbursement).days
    cumulative = [first_days]
    for n in tail_days:
        cumulative.append(cumulative[-1] + n)
    return _Dates(
        disbursement=disbursement,
        first_due=due[0],
        due=due,
        days=(first_days, *tail_days),
        cumulative=tuple(cumulative),
        workdays=(calendar.business_days_between(disbursement, due[0]), *tail_workdays),
    )


def _growth(rates: Rates, days: Sequence[int]) -> list[Decimal]:
    """(1 + daily)^days for each period, computing each distinct power once."""
    powers: dict[int, Decimal] = {}
    out = []
    for n in days:
        factor = powers.get(n)
        if factor is None:
            factor = powers[n] = (ONE + rates.daily) ** n
        out.append(factor)
    return out


def _present_value_factor(growth: Sequence[Decimal]) -> Decimal:
    """Σ 1 / Π growth: the present value of 1 paid at every due date."""
    total, discount = ZERO, ONE
    for factor in growth:
        discount /= factor
        total += discount
    return total


def _cet(
    released: Decimal, installments: Sequence[Decimal], days: Sequence[int], guess: float
) -> tuple[Decimal, Decimal, float]:
    """Monthly and annual CET (Res. CMN 4.881/2020) from the daily internal rate of return.

    Newton's method on Σ installment_k (1 + r)^-cumulative_k = released. Returns the daily rate
    too, as a warm start for the next option of the same quote.
    """
    target = float(released)
    level = float(installments[0]) if len(set(installments)) == 1 else None
    amounts = [] if level is not None else [float(p) for p in installments]
    distinct = set(days)
    rate = guess
    for _ in range(50):
        powers = {n: (1.0 + rate) ** -n for n in distinct}
        discount = 1.0
        elapsed = 0
        if level is not None:  # all installments equal: factor the amount out of both sums
            total = weighted = 0.0
            for n in days:
                discount *= powers[n]
                elapsed += n
                total += discount
                weighted += elapsed * discount
            value, slope = level * total - target, -level * weighted
        else:
            value, slope = -target, 0.0
            for amount, n in zip(amounts, days, strict=True):
                discount *= powers[n]
                elapsed += n
                value += amount * discount
                slope -= elapsed * amount * discount
        step = value * (1.0 + rate) / slope
        rate -= step
        # Newton converges quadratically: after a step this small the error is ~1e-14 of the rate,
        # far below the 4 and 6 decimals the CET is published with.
        if abs(step) <= 1e-7 * max(abs(rate), 1e-9):
            break
    monthly = (1.0 + rate) ** (365.0 / 12.0) - 1.0
    annual = (1.0 + rate) ** 365.0 - 1.0
    return round_places(Decimal(repr(monthly)), 4), round_places(Decimal(repr(annual)), 6), rate


def _fees(product: ProductConfig, issue: Decimal) -> tuple[FeeCharge, ...]:
    charges = []
    for fee in product.fees:
        if fee.amount_type == AmountType.PERCENTAGE:
            amount = round_money(issue * fee.amount / 100)
        else:
            amount = round_money(fee.amount)
        charges.append(FeeCharge(fee.fee_type, fee.amount_type, fee.amount, amount))
    return tuple(charges)


_TEN = Decimal(1).scaleb(-10)


def _new_row(values: tuple[object, ...]) -> InstallmentRow:
    # Skips NamedTuple's keyword-handling constructor: rows are built by the hundred per quote.
    return tuple.__new__(InstallmentRow, values)


_CENT = Decimal("0.01")


@lru_cache(maxsize=8192)
def _tax_factors(cumulative: tuple[int, ...]) -> tuple[Decimal, ...]:
    """IOF per real amortised at each due date: 0.0082 % a day for at most 365 days."""
    rate, cap = IOF_DAILY_RATE.value, IOF_MAX_DAYS.value
    return tuple(rate * min(c, cap) for c in cumulative)


def _option(
    product: ProductConfig,
    rates: Rates,
    dates: _Dates,
    installment: Decimal,
    issue: Decimal,
    flows: Sequence[tuple[Decimal, Decimal, Decimal]],
    *,
    with_cet: bool,
    cet_guess: float | None = None,
) -> tuple[QuoteOption, float]:
    """Assemble one option from its (interest, amortization, total) rows, each to 10 places."""
    interests, amortizations, totals = zip(*flows, strict=True)
    taxes = list(map(mul, amortizations, _tax_factors(dates.cumulative)))
    base_iof = sum(taxes, ZERO)
    total_interest = sum(interests, ZERO)
    # due_principal starts at the rounded issue amount and falls by each published amortization.
    due_principals = list(accumulate(amortizations[:-1], sub, initial=issue))
    rows = list(
        map(
            _new_row,
            zip(
                range(1, len(flows) + 1),
                dates.due,
                dates.days,
                dates.cumulative,
                dates.workdays,
                due_principals,
                interests,
                amortizations,
                taxes,
                totals,
                strict=True,
            ),
        )
    )
    additional_iof = issue * IOF_ADDITIONAL_RATE.value
    total_iof = (base_iof + additional_iof).quantize(_CENT, rounding=ROUND_HALF_UP)
    fees = _fees(product, issue)
    deducted = sum((f.fee_amount for f in fees if f.fee_type in product.deducted_fee_types), ZERO)
    added = sum((f.fee_amount for f in fees if f.fee_type not in product.deducted_fee_types), ZERO)
    contract_fee_amount = sum((f.fee_amount for f in fees if f.fee_type in product.contract_fee_types), ZERO)
    released = issue - total_iof - deducted
    monthly_cet = annual_cet = ZERO
    guess = float(rates.daily) * 1.05 if cet_guess is None else cet_guess
    if with_cet:
        monthly_cet, annual_cet, guess = _cet(released, totals, dates.days, guess)
    option = QuoteOption(
        disbursement_date=dates.disbursement,
        first_due_date=dates.first_due,
        rates=rates,
        installment_value=installment,
        rows=tuple(rows),
        issue_amount=issue,
        base_iof=base_iof,
        additional_iof=additional_iof,
        total_iof=total_iof,
        fees=fees,
        contract_fee_amount=contract_fee_amount,
        disbursed_issue_amount=released,
        assignment_amount=issue + added,
        total_interest=total_interest,
        monthly_cet=monthly_cet,
        annual_cet=annual_cet,
    )
    return option, guess


def _price_installment(
    product: ProductConfig, rates: Rates, installment: Decimal, option_dates: Sequence[_Dates], *, with_cet: bool = True
) -> list[QuoteOption]:
    """Installment mode for every option. Options that share their due dates share every row but
    the first: the balance left after the first installment is the present value of the others,
    whatever the disbursement date. So the tail is computed once per due-date schedule."""
    options: list[QuoteOption] = []
    tails: dict[tuple[date, ...], tuple[Decimal, list[tuple[Decimal, Decimal, Decimal]]]] = {}
    guess = float(rates.daily) * 1.05  # the CET is a little above the contract rate
    with localcontext(_CONTEXT):
        for dates in option_dates:
            shared = tails.get(dates.due)
            if shared is None:
                growth = _growth(rates, dates.days[1:])
                after_first = balance = installment * _present_value_factor(growth)
                tail = []
                for factor in growth:
                    interest = balance * (factor - ONE)
                    balance -= installment - interest
                    # installment has 2 places, so this is the amortization rounded to 10 places.
                    interest_10 = interest.quantize(_TEN, rounding=ROUND_HALF_UP)
                    tail.append((interest_10, installment - interest_10, installment))
                shared = tails[dates.due] = (after_first, tail)
            after_first, tail = shared
            first_growth = (ONE + rates.daily) ** dates.days[0]
            present_value = (after_first + installment) / first_growth
            interest = present_value * (first_growth - ONE)
            interest_10 = interest.quantize(_TEN, rounding=ROUND_HALF_UP)
            first = (interest_10, installment - interest_10, installment)
            issue = present_value.quantize(_CENT, rounding=ROUND_HALF_UP)
            option, guess = _option(
                product, rates, dates, installment, issue, [first, *tail], with_cet=with_cet, cet_guess=guess
            )
            options.append(option)
    return options


def _price_issue(
    product: ProductConfig, rates: Rates, dates: _Dates, installment: Decimal, issue: Decimal, *, with_cet: bool = True
) -> QuoteOption:
    """A fixed issue amount amortised by a centavo-rounded installment; the last one closes the balance
    (its amortisation is whatever the published amortisations left of the issue amount)."""
    with localcontext(_CONTEXT):
        growth = _growth(rates, dates.days)
        balance = issue
        published = ZERO
        flows = []
        last = len(growth) - 1
        for k, factor in enumerate(growth):
            interest = balance * (factor - ONE)
            interest_10 = interest.quantize(_TEN, rounding=ROUND_HALF_UP)
            if k == last:
                amortization_10 = issue - published
                total = (interest_10 + amortization_10).quantize(_CENT, rounding=ROUND_HALF_UP)
            else:
                amortization_10 = installment - interest_10
                total = installment
                balance -= installment - interest
            published += amortization_10
            flows.append((interest_10, amortization_10, total))
        return _option(product, rates, dates, installment, issue, flows, with_cet=with_cet)[0]


# ---------------------------------------------------------------- solving the other modes


def _installment_for_issue(rates: Rates, dates: _Dates, issue: Decimal) -> Decimal:
    with localcontext(_CONTEXT):
        return round_money(issue / _present_value_factor(_growth(rates, dates.days)))


def _released_for_issue(product: ProductConfig, rates: Rates, dates: _Dates, issue: Decimal) -> Decimal:
    """What the borrower receives for an issue amount, with the installment that amortises it."""
    installment = _installment_for_issue(rates, dates, issue)
    return _price_issue(product, rates, dates, installment, issue, with_cet=False).disbursed_issue_amount


def _solve_issue_amount(product: ProductConfig, rates: Rates, dates: _Dates, target: Decimal) -> Decimal:
    """The smallest issue amount (in centavos) whose released amount reaches ``target``.

    Released grows by just under a centavo per centavo of issue, so there is almost always an
    exact match; when rounding skips it, the borrower gets the centavo above, never below.
    """
    step = Decimal("0.01")
    ratio = _released_for_issue(product, rates, dates, target) / target  # ≈ 1 − IOF − percentage fees
    guess = round_money(target / ratio) if ratio > 0 else target
    low, high = guess - 50 * step, guess + 50 * step
    while _released_for_issue(product, rates, dates, low) >= target:
        low -= 50 * step
    while _released_for_issue(product, rates, dates, high) < target:
        high += 50 * step
    while high - low > step:  # invariant: released(low) < target <= released(high)
        middle = round_money((low + high) / 2)
        if _released_for_issue(product, rates, dates, middle) >= target:
            high = middle
        else:
            low = middle
    return high


def _solve_rate(product: ProductConfig, dates: _Dates, installment: Decimal, target: Decimal) -> Decimal:
    """The monthly rate (8 places) at which this option releases ``target`` for this installment."""

    def released(monthly: Decimal) -> Decimal:
        return _price_installment(product, rates_for(monthly), installment, [dates], with_cet=False)[
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


# ---------------------------------------------------------------- entry point


@dataclass(frozen=True)
class QuoteRequest:
    """What pricing needs from a simulation or issuance request (see :func:`quote_request_from`)."""

    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: int
    number_of_installments: int
    installment_face_value: Decimal | None
    disbursed_amount: Decimal | None
    monthly_interest_rate: Decimal | None


def mode_of(request: QuoteRequest) -> QuoteMode:
    if request.installment_face_value is not None and request.monthly_interest_rate is not None:
        return QuoteMode.INSTALLMENT
    if request.disbursed_amount is not None and request.monthly_interest_rate is not None:
        return QuoteMode.DISBURSED
    if request.installment_face_value is not None and request.disbursed_amount is not None:
        return QuoteMode.RATE
    raise PricingError("financial", "give two of installment_face_value, disbursed_amount, monthly_interest_rate")


def quote(request: QuoteRequest, product: ProductConfig) -> Quote:
    """Price every disbursement option of the window (one per calendar day, weekends included)."""
    if request.number_of_installments < 1:
        raise PricingError("financial.number_of_installments", "must be at least 1")
    mode = mode_of(request)
    option_dates = [
        _dates(
            request.disbursement_date + timedelta(days=i),
            request.first_due_date,
            request.number_of_installments,
            product,
        )
        for i in range(request.limit_days_to_disburse + 1)
    ]
    options: list[QuoteOption] = []
    if mode == QuoteMode.INSTALLMENT:
        assert request.installment_face_value is not None and request.monthly_interest_rate is not None
        rates = rates_for(request.monthly_interest_rate)
        options = _price_installment(product, rates, request.installment_face_value, option_dates)
    elif mode == QuoteMode.DISBURSED:
        assert request.disbursed_amount is not None and request.monthly_interest_rate is not None
        rates = rates_for(request.monthly_interest_rate)
        for d in option_dates:
            issue = _solve_issue_amount(product, rates, d, request.disbursed_amount)
            installment = _installment_for_issue(rates, d, issue)
            options.append(_price_issue(product, rates, d, installment, issue))
    else:
        assert request.installment_face_value is not None and request.disbursed_amount is not None
        for d in option_dates:
            monthly = _solve_rate(product, d, request.installment_face_value, request.disbursed_amount)
            options.extend(_price_installment(product, rates_for(monthly), request.installment_face_value, [d]))
    violations = product_rule_violations(
        product,
        monthly_rate=max(o.rates.monthly for o in options),
        number_of_installments=request.number_of_installments,
    )
    return Quote(mode=mode, options=tuple(options), violations=tuple(violations))
