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

Issue mode (what the solvers of :mod:`domain.pricing.solve` end with): a fixed issue amount
amortised by a centavo-rounded installment, the last installment closing the balance.

Money is Decimal throughout, each operation in the order the seeds were reproduced with: the
figures are the rounding of that sequence, so it is kept as it is (only the Python around it is
lean). Only the CET's internal rate of return is searched in binary floating point: it is published
with 4 and 6 decimals, ten orders of magnitude above that arithmetic's error.
"""

from __future__ import annotations

import calendar as _calendar
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from functools import cached_property, lru_cache, partial
from itertools import accumulate, pairwise, repeat
from operator import mul, sub, truediv
from typing import NamedTuple, cast

from domain.calendar import BankCalendar
from domain.money import round_money, round_places
from domain.pricing.product import AmountType, FeeType, ProductConfig
from domain.regulation import IOF_ADDITIONAL_RATE, IOF_DAILY_RATE, IOF_MAX_DAYS

# Every schedule figure is computed at 20 significant digits (round half even), then rounded as
# the provider rounds (half up) where it publishes one.
CONTEXT = Context(prec=20)
ONE = Decimal(1)
ZERO = Decimal(0)
TEN_PLACES = Decimal(1).scaleb(-10)
CENT = Decimal("0.01")
_ONE_OVER_365 = CONTEXT.divide(ONE, Decimal(365))
"""1/365 as the 20-digit arithmetic writes it: the exponent of the daily rate's power."""
MAX_SOLVED_MONTHLY_RATE = Decimal("0.2")


class PricingError(ValueError):
    """A request the engine cannot price, saying which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Rates:
    monthly: Decimal
    annual: Decimal
    daily: Decimal

    @property
    def daily_display(self) -> Decimal:
        return round_places(self.daily, 8)


def annual_rate(monthly: Decimal) -> Decimal:
    """(1 + monthly)^12 − 1 in :data:`CONTEXT`, rounded half up to 8 places."""
    return CONTEXT.subtract(CONTEXT.power(CONTEXT.add(ONE, monthly), 12), ONE).quantize(
        _EIGHT_PLACES, ROUND_HALF_UP, CONTEXT
    )


_EIGHT_PLACES = Decimal(1).scaleb(-8)


def rates_for(monthly: Decimal) -> Rates:
    # Cached by the rate as written: equal Decimals (0.01 and 0.0100) must not share a cache entry,
    # or the rate a quote prints would depend on the quotes before it.
    return _rates_for(str(monthly))


@lru_cache(maxsize=1024)
def _rates_for(monthly_text: str) -> Rates:
    monthly = Decimal(monthly_text)
    annual = annual_rate(monthly)
    return Rates(monthly=monthly, annual=annual, daily=daily_rate(annual))


def daily_rate(annual: Decimal) -> Decimal:
    """(1 + annual)^(1/365) − 1 in :data:`CONTEXT`: the 20-digit rounding of the power, minus one.

    Decimal's power with a fractional exponent works at 43 digits for these 20 and is slow (the
    solvers price a new rate for every option). One Newton step from the float root, at 40 digits,
    gives the power to about 30 digits, which round to the same 20 wherever they are more than a
    billionth of the last place from the half-way point; nearer than that, the power decides.
    """
    if annual > 0:
        base = _WIDE.add(ONE, annual)
        root = Decimal(math.pow(1.0 + float(annual), 1.0 / 365.0))
        power = _WIDE.power(root, 365)
        root = _WIDE.add(root, _WIDE.multiply(root, _WIDE.divide(_WIDE.subtract(_WIDE.divide(base, power), ONE), 365)))
        # That is base^(1/365); the power is taken to the 20-digit 1/365, a few 1e-23 away, which can
        # move the last place near half-way: x^(y + d) = x^y (1 + d ln x) to well below a billionth of it.
        root = _WIDE.add(root, _WIDE.multiply(root, _WIDE.multiply(Decimal(math.log1p(float(annual))), _EXPONENT_GAP)))
        rounded = CONTEXT.plus(root)
        last_places = abs(_WIDE.subtract(root, rounded).scaleb(19 - rounded.adjusted()))
        if abs(last_places - _HALF) > _MARGIN:
            return CONTEXT.subtract(rounded, ONE)
    with localcontext(CONTEXT):
        return (ONE + annual) ** _ONE_OVER_365 - ONE


_WIDE = Context(prec=40)
_HALF = Decimal("0.5")
_MARGIN = Decimal("1e-9")
_EXPONENT_GAP = _WIDE.subtract(_ONE_OVER_365, _WIDE.divide(ONE, Decimal(365)))


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
    return add_months(requested, _months_to_first_due(requested, disbursement, calendar, min_days, cutoff))


def _months_to_first_due(
    requested: date, disbursement: date, calendar: BankCalendar, min_days: int, cutoff: int
) -> int:
    months_ahead = 2 if disbursement.day > cutoff else 1
    earliest_month = add_months(disbursement.replace(day=1), months_ahead)
    for months in range(0, 12 * 50):
        candidate = add_months(requested, months)
        adjusted = calendar.next_business_day(candidate)
        if (adjusted - disbursement).days >= min_days and candidate >= earliest_month:
            return months
    raise PricingError("financial.first_due_date", "no first due date fits the disbursement date")


@lru_cache(maxsize=4096)
def _due_dates(requested: date, offset: int, count: int, calendar: BankCalendar) -> tuple[date, ...]:
    # Every installment falls on the requested day of its month (the 30th stays the 30th after a
    # February that lacks it): counted from the requested date, not from the clamped first one. The
    # seeds print no schedule past a short month; the provider's sandbox reads it the same way.
    return tuple(calendar.next_business_day(add_months(requested, offset + k)) for k in range(count))


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


# ---------------------------------------------------------------- dates


@dataclass(frozen=True)
class OptionDates:
    """One disbursement option's calendar: due dates, the days of each period and since the disbursement."""

    disbursement: date
    first_due: date
    due: tuple[date, ...]
    days: tuple[int, ...]
    cumulative: tuple[int, ...]
    workdays: tuple[int, ...]

    @cached_property
    def cumulative_float(self) -> tuple[float, ...]:
        """``cumulative`` as floats, for the float searches (the same values: the days are small integers)."""
        return tuple(map(float, self.cumulative))


@lru_cache(maxsize=4096)
def _shared_dates(
    requested: date, offset: int, count: int, calendar: BankCalendar
) -> tuple[tuple[date, ...], tuple[int, ...], tuple[int, ...]]:
    """Due dates, and the days and workdays between consecutive ones (from the 2nd installment on)."""
    due = _due_dates(requested, offset, count, calendar)
    days = tuple((b - a).days for a, b in pairwise(due))
    workdays = tuple(calendar.business_days_between(a, b) for a, b in pairwise(due))
    return due, days, workdays


def option_dates(disbursement: date, requested_first_due: date, count: int, product: ProductConfig) -> OptionDates:
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
) -> OptionDates:
    offset = _months_to_first_due(requested_first_due, disbursement, calendar, min_days, cutoff)
    due, tail_days, tail_workdays = _shared_dates(requested_first_due, offset, count, calendar)
    first_days = (due[0] - disbursement).days
    return OptionDates(
        disbursement=disbursement,
        first_due=due[0],
        due=due,
        days=(first_days, *tail_days),
        cumulative=tuple(accumulate(tail_days, initial=first_days)),
        workdays=(calendar.business_days_between(disbursement, due[0]), *tail_workdays),
    )


@lru_cache(maxsize=8192)
def tax_factors(cumulative: tuple[int, ...]) -> tuple[Decimal, ...]:
    """IOF per real amortised at each due date: 0.0082 % a day for at most 365 days."""
    rate, cap = IOF_DAILY_RATE.value, IOF_MAX_DAYS.value
    return tuple(rate * min(c, cap) for c in cumulative)


# ---------------------------------------------------------------- arithmetic shared by every mode


def growth_and_rates(rates: Rates, days: Sequence[int]) -> tuple[list[Decimal], list[Decimal]]:
    """(1 + daily)^days for each period, and each period's rate (that growth − 1), each distinct one
    computed once: the schedules take the rate of every row, and there are few distinct period lengths."""
    with localcontext(CONTEXT):
        base = ONE + rates.daily
        powers = {n: base**n for n in set(days)}
        minus_one = {n: power - ONE for n, power in powers.items()}
    return list(map(powers.__getitem__, days)), list(map(minus_one.__getitem__, days))


def present_value_factor(growth: Sequence[Decimal]) -> Decimal:
    """Σ 1 / Π growth: the present value of 1 paid at every due date (each discount the previous one
    divided by the period's growth, summed in order, in :data:`CONTEXT`; the loops run in C)."""
    with localcontext(CONTEXT):
        discounts = accumulate(growth, truediv, initial=ONE)
        next(discounts)  # the initial 1 is not a payment
        return sum(discounts, ZERO)


def cet(
    released: Decimal, level: Decimal | None, installments: Sequence[Decimal], days: Sequence[int], guess: float
) -> tuple[Decimal, Decimal, float]:
    """Monthly and annual CET (Res. CMN 4.881/2020) from the daily internal rate of return.

    Newton's method on Σ installment_k (1 + r)^-cumulative_k = released; ``level`` is the one
    installment when all are equal. Returns the daily rate too, as a warm start for the next option
    of the same quote.
    """
    target = float(released)
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
            amount = float(level)
            value, slope = amount * total - target, -amount * weighted
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


class CetStarts:
    """Where the CET of each option of a quote starts: Σ_k c_k^j e^(−y c_k), j = 0..3, around one
    log daily rate y, computed once for the options that share their due dates (their cumulative
    days are c_1 + τ_k with the same τ), then shifted to each option's c_1 in O(1)."""

    def __init__(self) -> None:
        self._tails: dict[tuple[date, int], tuple[float, tuple[float, float, float, float]]] = {}

    def around(self, dates: OptionDates, y: float) -> tuple[float, tuple[float, float, float, float]]:
        """The log daily rate the expansion is around, and the four sums for these dates there."""
        key = (dates.first_due, len(dates.days))
        tail = self._tails.get(key)
        if tail is None:
            first = dates.cumulative[0]
            offsets = [float(c - first) for c in dates.cumulative]
            terms = list(map(math.exp, map(mul, repeat(-y), offsets)))
            sums = [sum(terms)]
            for _ in range(3):
                terms = list(map(mul, offsets, terms))
                sums.append(sum(terms))
            tail = self._tails[key] = (y, (sums[0], sums[1], sums[2], sums[3]))
        y, (t0, t1, t2, t3) = tail
        c = float(dates.cumulative[0])
        scale = math.exp(-y * c)
        return y, (
            scale * t0,
            scale * (c * t0 + t1),
            scale * (c * (c * t0 + 2 * t1) + t2),
            scale * (c * (c * (c * t0 + 3 * t1) + 3 * t2) + t3),
        )


def cet_fast(
    released: Decimal,
    installment: Decimal,
    last: Decimal,
    dates: OptionDates,
    start: tuple[float, tuple[float, float, float, float]],
) -> tuple[Decimal, Decimal] | None:
    """:func:`cet`'s two figures for installments of ``installment`` but the ``last``, or None when
    they are not certain (then :func:`cet` itself decides, as it always has).

    In y = ln(1 + r): f(y) = Σ A_k e^(−y c_k) − released. Its Taylor expansion to the third order
    around ``start`` (see :class:`CetStarts`) gives where Newton's steps begin; they go on until the
    root is known to within a bound (|f''/2f'| ≤ c_max/2 for positive amounts, plus the sums' float
    error) that leaves both rounded figures the same at either end — so they are the ones
    :func:`cet` gives from anywhere inside, wherever its own Newton's method stopped.
    """
    target, payment, closing = float(released), float(installment), float(last)
    if target <= 0 or payment <= 0 or closing <= 0:
        return None
    cumulative = dates.cumulative_float
    longest = cumulative[-1]
    y, (s0, s1, s2, s3) = start
    extra = closing - payment  # the last installment's difference, at its own days
    tail = extra * math.exp(-y * longest)
    m0, m1 = payment * s0 + tail, payment * s1 + tail * longest
    m2, m3 = payment * s2 + tail * longest**2, payment * s3 + tail * longest**3
    # The root of the cubic m0 − m1·d + m2·d²/2 − m3·d³/6 = released, by Newton from its tangent.
    delta = (m0 - target) / m1
    for _ in range(6):
        slope = -m1 + delta * (m2 - delta * m3 / 2)
        if slope >= 0:
            return None
        delta -= (m0 - delta * (m1 - delta * (m2 / 2 - delta * m3 / 6)) - target) / slope
    y += delta
    for _ in range(4):
        discounts = list(map(math.exp, map(mul, repeat(-y), cumulative)))
        total = payment * sum(discounts) + extra * discounts[-1]
        slope = -(payment * sum(map(mul, cumulative, discounts)) + extra * longest * discounts[-1])
        step = (total - target) / slope
        y -= step
        # Newton's error after a step: ≤ |f''/2f'|·step² (doubled for the change of f' across it), and
        # the root is only as good as f's float error over |f'|.
        error = longest * step * step + 64 * len(cumulative) * _EPS * total / -slope
        figures = _cet_figures(math.expm1(y - error), math.expm1(y + error))
        if figures is not None:
            return figures
    return None


_EPS = 2.0**-52


def _cet_figures(low: float, high: float) -> tuple[Decimal, Decimal] | None:
    """:func:`cet`'s rounding of the monthly and annual CET, if it is the same for every daily rate
    between ``low`` and ``high`` (the float formulas only grow with the rate)."""
    low, high = low * (1 - 4 * _EPS), high * (1 + 4 * _EPS)
    monthly = _same_rounding((1.0 + low) ** (365.0 / 12.0) - 1.0, (1.0 + high) ** (365.0 / 12.0) - 1.0, 4)
    if monthly is None:
        return None
    annual = _same_rounding((1.0 + low) ** 365.0 - 1.0, (1.0 + high) ** 365.0 - 1.0, 6)
    if annual is None:
        return None
    return monthly, annual


def _same_rounding(low: float, high: float, places: int) -> Decimal | None:
    """round_places(Decimal(repr(x)), places), the same for ``low`` and ``high``, or None. A float
    whose scaled fraction is clear of one half rounds as its shortest repr does (17 digits)."""
    scale = 10.0**places
    if low > 0:
        lowest, highest = low * scale, high * scale
        floor = math.floor(lowest)
        if math.floor(highest) == floor and lowest - floor > 1e-6 and highest - floor < 0.5 - 1e-6:
            return Decimal(floor).scaleb(-places)
        if math.floor(highest) == floor and lowest - floor > 0.5 + 1e-6 and highest - floor < 1 - 1e-6:
            return Decimal(floor + 1).scaleb(-places)
    rounded = round_places(Decimal(repr(low)), places)
    return rounded if rounded == round_places(Decimal(repr(high)), places) else None


@dataclass
class _CetChain:
    """:func:`cet`'s warm starts in a quote: each option starts where the previous one ended. Kept
    to replay it when :func:`cet_fast` is not certain."""

    first_guess: float
    starts: CetStarts
    inputs: list[tuple[Decimal, Decimal | None, Sequence[Decimal], tuple[int, ...]]] = field(default_factory=list)

    def figures(
        self,
        released: Decimal,
        level: Decimal | None,
        installments: Sequence[Decimal],
        dates: OptionDates,
        daily: float,
    ) -> tuple[Decimal, Decimal]:
        start = self.starts.around(dates, math.log1p(daily))
        fast = cet_fast(released, installments[0], installments[-1], dates, start)
        self.inputs.append((released, level, installments, dates.days))
        if fast is not None:
            return fast
        guess = self.first_guess
        for inputs in self.inputs:
            monthly, annual, guess = cet(*inputs, guess)
        return monthly, annual


def fees(product: ProductConfig, issue: Decimal) -> tuple[FeeCharge, ...]:
    charges = []
    for fee in product.fees:
        if fee.amount_type == AmountType.PERCENTAGE:
            amount = round_money(issue * fee.amount / 100)
        else:
            amount = round_money(fee.amount)
        charges.append(FeeCharge(fee.fee_type, fee.amount_type, fee.amount, amount))
    return tuple(charges)


def deducted(product: ProductConfig, charges: Sequence[FeeCharge]) -> Decimal:
    """What the fees take out of the issue amount before it reaches the borrower."""
    return sum((f.fee_amount for f in charges if f.fee_type in product.deducted_fee_types), ZERO)


def total_iof(base_iof: Decimal, issue: Decimal) -> Decimal:
    """The daily IOF plus 0.38 % of the issue amount, rounded to cents (in :data:`CONTEXT`)."""
    return (base_iof + issue * IOF_ADDITIONAL_RATE.value).quantize(CENT, rounding=ROUND_HALF_UP)


# Rows are built by the hundred per quote: straight from their tuple of values, in C.
_row = cast(Callable[[tuple[object, ...]], InstallmentRow], partial(tuple.__new__, InstallmentRow))


def _ten_places(values: Sequence[Decimal]) -> list[Decimal]:
    # A context's quantize takes positional arguments only, and is about twice as fast as
    # Decimal.quantize with a rounding; the precision only bounds the digits, 13 or so here.
    return list(map(_HALF_UP.quantize, values, repeat(TEN_PLACES)))


_HALF_UP = Context(prec=CONTEXT.prec, rounding=ROUND_HALF_UP)


def _option(
    product: ProductConfig,
    rates: Rates,
    dates: OptionDates,
    installment: Decimal,
    issue: Decimal,
    interests: list[Decimal],
    amortizations: list[Decimal],
    totals: Sequence[Decimal],
    *,
    level: Decimal | None,
    cets: _CetChain | None,
) -> QuoteOption:
    """Assemble one option from its interest, amortization and total columns (10 places), in
    :data:`CONTEXT`. ``level``: the one total, when all are equal."""
    taxes = list(map(mul, amortizations, tax_factors(dates.cumulative)))
    base_iof = sum(taxes, ZERO)
    # due_principal starts at the rounded issue amount and falls by each published amortization.
    due_principals = list(accumulate(amortizations[:-1], sub, initial=issue))
    rows = tuple(
        map(
            _row,
            zip(
                range(1, len(interests) + 1),
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
    charges = fees(product, issue)
    added = sum((f.fee_amount for f in charges if f.fee_type not in product.deducted_fee_types), ZERO)
    contract_fee_amount = sum((f.fee_amount for f in charges if f.fee_type in product.contract_fee_types), ZERO)
    iof = total_iof(base_iof, issue)
    released = issue - iof - deducted(product, charges)
    monthly_cet = annual_cet = ZERO
    if cets is not None:
        monthly_cet, annual_cet = cets.figures(released, level, totals, dates, float(rates.daily))
    return QuoteOption(
        disbursement_date=dates.disbursement,
        first_due_date=dates.first_due,
        rates=rates,
        installment_value=installment,
        rows=rows,
        issue_amount=issue,
        base_iof=base_iof,
        additional_iof=issue * IOF_ADDITIONAL_RATE.value,
        total_iof=iof,
        fees=charges,
        contract_fee_amount=contract_fee_amount,
        disbursed_issue_amount=released,
        assignment_amount=issue + added,
        total_interest=sum(interests, ZERO),
        monthly_cet=monthly_cet,
        annual_cet=annual_cet,
    )


# ---------------------------------------------------------------- installment mode


class _Tail(NamedTuple):
    """The rows after the first, shared by every option with the same due dates."""

    after_first: Decimal  # the balance left after the first installment
    interests: list[Decimal]
    amortizations: list[Decimal]


def _tail(rates: Rates, installment: Decimal, days: Sequence[int]) -> _Tail:
    factors, period_rates = growth_and_rates(rates, days)
    after_first = balance = installment * present_value_factor(factors)
    interests = []
    for period_rate in period_rates:
        interest = balance * period_rate
        balance -= installment - interest
        interests.append(interest)
    # installment has 2 places, so installment − interest (10 places) is the amortization to 10 places.
    interests = _ten_places(interests)
    return _Tail(after_first, interests, list(map(sub, repeat(installment), interests)))


def price_installment(
    product: ProductConfig,
    rates: Rates,
    installment: Decimal,
    option_dates: Sequence[OptionDates],
    *,
    with_cet: bool = True,
    cet_starts: CetStarts | None = None,
) -> list[QuoteOption]:
    """Installment mode for every option. Options that share their due dates share every row but
    the first: the balance left after the first installment is the present value of the others,
    whatever the disbursement date. So the tail is computed once per due-date schedule."""
    options: list[QuoteOption] = []
    tails: dict[tuple[date, int], _Tail] = {}  # the first due date and the count give the due dates
    # The CET is a little above the rate.
    cets = _CetChain(float(rates.daily) * 1.05, cet_starts or CetStarts()) if with_cet else None
    with localcontext(CONTEXT):
        for dates in option_dates:
            key = (dates.first_due, len(dates.days))
            tail = tails.get(key)
            if tail is None:
                tail = tails[key] = _tail(rates, installment, dates.days[1:])
            first_growth = (ONE + rates.daily) ** dates.days[0]
            present_value = (tail.after_first + installment) / first_growth
            interest = (present_value * (first_growth - ONE)).quantize(TEN_PLACES, rounding=ROUND_HALF_UP)
            issue = present_value.quantize(CENT, rounding=ROUND_HALF_UP)
            option = _option(
                product,
                rates,
                dates,
                installment,
                issue,
                [interest, *tail.interests],
                [installment - interest, *tail.amortizations],
                [installment] * len(dates.days),
                level=installment,
                cets=cets,
            )
            options.append(option)
    return options


# ---------------------------------------------------------------- issue mode


def installment_for_issue(issue: Decimal, pv_factor: Decimal) -> Decimal:
    """The centavo-rounded installment that amortises ``issue`` (``pv_factor``: see
    :func:`present_value_factor`)."""
    with localcontext(CONTEXT):
        return round_money(issue / pv_factor)


def price_issue(
    product: ProductConfig,
    rates: Rates,
    dates: OptionDates,
    period_rates: Sequence[Decimal],
    installment: Decimal,
    issue: Decimal,
    *,
    with_cet: bool = True,
    cet_starts: CetStarts | None = None,
) -> QuoteOption:
    """A fixed issue amount amortised by a centavo-rounded installment; the last one closes the balance
    (its amortisation is whatever the published amortisations left of the issue amount).
    ``period_rates``: each period's growth − 1 for ``dates.days`` (:func:`growth_and_rates`)."""
    with localcontext(CONTEXT):
        balance = issue
        interests = []
        for period_rate in period_rates[:-1]:
            interest = balance * period_rate
            balance -= installment - interest
            interests.append(interest)
        interests.append(balance * period_rates[-1])
        interests = _ten_places(interests)
        amortizations = list(map(sub, repeat(installment), interests[:-1]))
        last = issue - sum(amortizations, ZERO)
        amortizations.append(last)
        totals = [installment] * (len(interests) - 1)
        totals.append((interests[-1] + last).quantize(CENT, rounding=ROUND_HALF_UP))
        level = totals[-1] if len(totals) == 1 or totals[-1] == installment else None
        cets = _CetChain(float(rates.daily) * 1.05, cet_starts or CetStarts()) if with_cet else None
        return _option(
            product, rates, dates, installment, issue, interests, amortizations, totals, level=level, cets=cets
        )


def released_for_issue(product: ProductConfig, rates: Rates, dates: OptionDates, issue: Decimal) -> Decimal:
    """What the borrower receives for an issue amount, with the installment that amortises it: the
    whole schedule, row by row (the solvers' reference, and their fallback)."""
    factors, period_rates = growth_and_rates(rates, dates.days)
    installment = installment_for_issue(issue, present_value_factor(factors))
    option = price_issue(product, rates, dates, period_rates, installment, issue, with_cet=False)
    return option.disbursed_issue_amount
