"""The second provider's price of a loan, as the sandbox computes it: written from the seeds' figures,
not from the lender's engine (a double that priced with the lender's code could never disagree with it).

Seed 003 prints one operation and no formula: 84 installments of 300.00, disbursed on 2025-12-03 with
its first due date on 2026-01-26, issued for 12,444.67 and releasing 12,007.60. Its validator speaks the
first provider's model (``borrower.name``), and the first provider's arithmetic, which seed 004 prints
in full, reproduces that operation to the cent with one deduction the seed does not name (see
``SandboxBSettings.deduction_percent``). So the sandbox prices as seed 004's simulation answer reads:

- **Rates** (``prefixed_interest_rate``: monthly 0.018 → annual 0.23872053, ``interest_base``
  ``calendar_days_365``): annual = (1 + monthly)^12 − 1, rounded half up to 8 places; daily =
  (1 + annual)^(1/365) − 1, used as it comes (the answer's ``daily_rate`` 0.00058669 is only printed
  rounded).
- **Dates**: the first due date's day of month, month after month, each moved to the next business
  day (2024-12-07, a Saturday, is paid on 2024-12-09); ``calendar_days`` between consecutive dates.
  The requested first due date moves a month at a time until it is far enough from the disbursement
  (the two figures fitted to seed 004's options, in the settings).
- **Issue amount**: the installments' present value at the daily rate over the days since the
  disbursement, rounded half up to the centavo (seed 004: 4 × 100.00 from 2024-11-05 → 382.13).
- **Schedule**: ``pre_fixed_amount`` = balance × ((1 + daily)^days − 1) to 10 places, the balance
  starting at the exact present value; ``principal_amortization_amount`` = installment − interest.
- **IOF** (Decreto 6.306/2007, and seed 004's ``tax_amount`` 0.2573414826… = 92.3032577485 × 0.0082 %
  × 34 days): Σ amortization × 0.0082 % × min(days since disbursement, 365), plus 0.38 % of the issue
  amount, the sum rounded half up to the centavo.
- **Released** (``disbursed_issue_amount``): issue − IOF − deductions (seed 004: a TAC of 0.6 % of the
  issue amount to the centavo and a TED fee of 1.00; seed 003: see the settings).
- **CET**: the daily internal rate of return of the released amount against the installments on
  their days; monthly = (1 + r)^(365/12) − 1 to 4 places, annual = (1 + r)^365 − 1 to 6 places
  (seed 004: 0.0257 and 0.355163).

The ``disbursed_amount`` simulation has no printed answer in any seed: the sandbox issues the smallest
amount, in centavos, that releases at least what was asked, amortised by the centavo-rounded level
installment, the last installment closing the balance.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache

import holidays

CENT = Decimal("0.01")
ONE = Decimal(1)
IOF_DAILY = Decimal("0.000082")  # Decreto 6.306/2007 art. 7, I, b: 0.0082 % a day (individuals)
IOF_DAILY_MAX_DAYS = 365  # the daily IOF counts a year at most
IOF_ADDITIONAL = Decimal("0.0038")  # art. 7 §15: 0.38 % once, on the amount
PRECISION = 34  # digits every figure is computed with before it is rounded as the provider prints it


class PriceRefused(ValueError):
    """A simulation the sandbox cannot price; ``field`` as the provider's validator names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{message} in {field}")
        self.field = field


def _half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------ the calendar


@dataclass(frozen=True)
class BankDays:
    """Brazil's national holidays and bank closings, as the provider's due dates read them.

    ``holidays`` files Carnival and Corpus Christi as optional: banks close on them. The provider pays
    on 20 November (Black Awareness Day, a national holiday since Lei 14.759/2023): seed 004's
    ``workdays`` count 2024-11-20 as one; ``open_holidays`` names such days.
    """

    open_holidays: frozenset[str] = frozenset({"National Day of Zumbi and Black Awareness"})
    closing_optional: frozenset[str] = frozenset({"Carnival", "Corpus Christi"})

    def closed(self, year: int) -> frozenset[date]:
        return _closed(year, self.open_holidays, self.closing_optional)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closed(day.year)

    def on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day


@cache
def _closed(year: int, open_holidays: frozenset[str], closing_optional: frozenset[str]) -> frozenset[date]:
    public = holidays.country_holidays("BR", years=year, categories=("public",), language="en_US")
    optional = holidays.country_holidays("BR", years=year, categories=("optional",), language="en_US")
    days = {d for d, name in public.items() if name not in open_holidays}
    days |= {d for d, name in optional.items() if name in closing_optional}
    return frozenset(days)


def plus_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, _calendar.monthrange(year, month + 1)[1]))


# ------------------------------------------------------------------ the schedule


@dataclass(frozen=True)
class Terms:
    """What a simulation fixes: the product's rate and the loan's dates; one of the two amounts."""

    monthly_rate: Decimal
    number_of_installments: int
    disbursement_date: date
    first_due_date: date  # as requested: moved forward when too close to the disbursement
    installment: Decimal | None = None  # ``installment_face_value`` simulation
    released: Decimal | None = None  # ``disbursed_amount`` simulation


@dataclass(frozen=True)
class Deductions:
    """What comes out of the issue amount before the borrower receives it (besides the IOF)."""

    percent: Decimal = Decimal(0)  # of the issue amount, each rounded half up to the centavo
    fixed: Decimal = Decimal(0)

    def of(self, issue: Decimal) -> Decimal:
        return _half_up(issue * self.percent / 100, 2) + self.fixed


@dataclass(frozen=True)
class DateRules:
    """When the requested first due date is too close to the disbursement (fitted: see the settings)."""

    min_days: int = 34
    cutoff_day: int = 5
    calendar: BankDays = BankDays()


@dataclass(frozen=True)
class Price:
    disbursement_date: date
    first_due_date: date  # the business day it is paid on
    last_due_date: date
    monthly_rate: Decimal
    annual_rate: Decimal
    installment: Decimal  # the level installment (in a ``disbursed_amount`` simulation the last may differ)
    issue_amount: Decimal
    iof: Decimal
    deducted: Decimal
    released: Decimal
    monthly_cet: Decimal
    annual_cet: Decimal


def annual_rate(monthly: Decimal) -> Decimal:
    with localcontext(prec=PRECISION):
        return _half_up((ONE + monthly) ** 12 - ONE, 8)


def daily_rate(annual: Decimal) -> Decimal:
    with localcontext(prec=PRECISION):
        return (ONE + annual) ** (ONE / 365) - ONE


def due_dates(terms: Terms, rules: DateRules) -> list[date]:
    """Every installment's payment day. The requested first due date moves a month at a time until it
    is paid ``min_days`` or more after the disbursement and, for a disbursement after ``cutoff_day``,
    no earlier than the second month after it (else the first)."""
    disbursed = terms.disbursement_date
    earliest = plus_months(disbursed.replace(day=1), 2 if disbursed.day > rules.cutoff_day else 1)
    for months in range(120):
        first = plus_months(terms.first_due_date, months)
        if first >= earliest and (rules.calendar.on_or_after(first) - disbursed).days >= rules.min_days:
            return [rules.calendar.on_or_after(plus_months(first, k)) for k in range(terms.number_of_installments)]
    raise PriceRefused("operation.first_due_date", "no first due date within ten years fits the disbursement date")


def _growths(daily: Decimal, disbursed: date, due: list[date]) -> list[Decimal]:
    """(1 + daily)^days of each period: from the disbursement to the first due date, then between dues."""
    previous = [disbursed, *due[:-1]]
    return [(ONE + daily) ** (b - a).days for a, b in zip(previous, due, strict=True)]


def _iof(issue: Decimal, amortizations: list[Decimal], disbursed: date, due: list[date]) -> Decimal:
    days = [min((d - disbursed).days, IOF_DAILY_MAX_DAYS) for d in due]
    daily = sum((a * IOF_DAILY * n for a, n in zip(amortizations, days, strict=True)), Decimal(0))
    return _half_up(daily + issue * IOF_ADDITIONAL, 2)


@dataclass(frozen=True)
class _Schedule:
    issue: Decimal
    installment: Decimal
    payments: list[Decimal]  # what each due date collects
    iof: Decimal


def _level(installment: Decimal, growths: list[Decimal], disbursed: date, due: list[date]) -> _Schedule:
    """``installment_face_value``: every installment the same, the issue amount their present value."""
    present, discount = Decimal(0), ONE
    for growth in growths:
        discount /= growth
        present += installment * discount
    balance, amortizations = present, []
    for growth in growths:
        interest = balance * (growth - ONE)
        balance += interest - installment
        amortizations.append(installment - _half_up(interest, 10))
    issue = _half_up(present, 2)
    return _Schedule(issue, installment, [installment] * len(growths), _iof(issue, amortizations, disbursed, due))


def _amortised(issue: Decimal, growths: list[Decimal], disbursed: date, due: list[date]) -> _Schedule:
    """A fixed issue amount: the centavo-rounded level installment, the last one closing the balance."""
    factor, discount = Decimal(0), ONE
    for growth in growths:
        discount /= growth
        factor += discount
    installment = _half_up(issue / factor, 2)
    balance, interests = issue, []
    for growth in growths:
        interest = balance * (growth - ONE)
        balance += interest - installment
        interests.append(_half_up(interest, 10))
    amortizations = [installment - i for i in interests[:-1]]
    last = issue - sum(amortizations, Decimal(0))
    amortizations.append(last)
    payments = [installment] * (len(growths) - 1) + [_half_up(interests[-1] + last, 2)]
    return _Schedule(issue, installment, payments, _iof(issue, amortizations, disbursed, due))


def _releasing(
    target: Decimal, deductions: Deductions, growths: list[Decimal], disbursed: date, due: list[date]
) -> _Schedule:
    """The smallest issue amount, in centavos, whose schedule releases at least ``target``."""

    def released(schedule: _Schedule) -> Decimal:
        return schedule.issue - schedule.iof - deductions.of(schedule.issue)

    low, high = target, _half_up(target * Decimal("1.25"), 2)  # IOF and fees take well under a fifth
    while released(_amortised(high, growths, disbursed, due)) < target:
        low, high = high, _half_up(high * 2, 2)
    while high - low > CENT:  # released(low) < target <= released(high), but at the start
        middle = _half_up((low + high) / 2, 2)
        if released(_amortised(middle, growths, disbursed, due)) >= target:
            high = middle
        else:
            low = middle
    return _amortised(high, growths, disbursed, due)


def _cet(released: Decimal, payments: list[Decimal], disbursed: date, due: list[date], guess: Decimal) -> Decimal:
    """The daily rate r with Σ payment_k (1 + r)^−days_k = released (Newton's method)."""
    days = [(d - disbursed).days for d in due]
    rate = guess
    for _ in range(60):
        value, slope = -released, Decimal(0)
        for payment, n in zip(payments, days, strict=True):
            discounted = payment / (ONE + rate) ** n
            value += discounted
            slope -= n * discounted / (ONE + rate)
        step = value / slope
        rate -= step
        if abs(step) < Decimal("1e-24"):
            break
    return rate


def price(terms: Terms, deductions: Deductions, rules: DateRules) -> Price:
    """The simulation's figures for one disbursement date."""
    if terms.number_of_installments < 1:
        raise PriceRefused("operation.number_of_installments", "must be at least 1")
    due = due_dates(terms, rules)
    with localcontext(prec=PRECISION):
        annual = annual_rate(terms.monthly_rate)
        daily = daily_rate(annual)
        growths = _growths(daily, terms.disbursement_date, due)
        if terms.installment is not None:
            schedule = _level(terms.installment, growths, terms.disbursement_date, due)
        elif terms.released is not None:
            schedule = _releasing(terms.released, deductions, growths, terms.disbursement_date, due)
        else:
            raise PriceRefused("operation.simulation_type", "give the installment or the disbursed amount")
        deducted = deductions.of(schedule.issue)
        released = schedule.issue - schedule.iof - deducted
        if released <= 0:
            raise PriceRefused("operation.installment_face_value", "releases nothing")
        cet = _cet(released, schedule.payments, terms.disbursement_date, due, daily * Decimal("1.05"))
        monthly_cet = _half_up((ONE + cet) ** (Decimal(365) / 12) - ONE, 4)
        annual_cet = _half_up((ONE + cet) ** 365 - ONE, 6)
    return Price(
        disbursement_date=terms.disbursement_date,
        first_due_date=due[0],
        last_due_date=due[-1],
        monthly_rate=terms.monthly_rate,
        annual_rate=annual,
        installment=schedule.installment,
        issue_amount=schedule.issue,
        iof=schedule.iof,
        deducted=deducted,
        released=released,
        monthly_cet=monthly_cet,
        annual_cet=annual_cet,
    )
