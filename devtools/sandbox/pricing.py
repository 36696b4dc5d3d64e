"""The sandbox's own pricing of a ``pre_price_days`` CCB, read off seed 004's worked answers (the
simulation of §3 — four options of four installments of R$ 100,00 at 1,8 % — and the issuance of §4 —
eight options of ten of R$ 101,84 at 1,66 %, every installment printed) and reproducing every figure
they print: due dates, calendar days and workdays, interest, amortization, IOF per installment,
issue amount, total IOF, fees, released amount, monthly and annual CET. Never the lender's engine: a
double pricing with the code it checks would agree with it whatever either got wrong.

What those answers show, and the sandbox does:

- **Rates** (``prefixed_interest_rate``, base ``calendar_days_365``): the annual rate is
  ``(1 + monthly)^12 - 1`` rounded to 8 places (1,8 % → 0.23872053), and the schedule runs on that
  rounded figure — interest for ``d`` calendar days is ``balance × ((1 + annual)^(d/365) - 1)``; the
  printed daily rate is ``(1 + annual)^(1/365) - 1`` to 8 places (0.00058669).
- **Due dates**: the requested first due date gives the day of the month; the first installment falls
  in the month after the disbursement's, or the one after that when the disbursement is after its
  month's ``cutoff_day`` (5) or when that due date would come fewer than ``min_days_to_first_due`` (34)
  days after the disbursement (or in the requested month, when that is later); each due date on a
  weekend or holiday rolls to the next workday (sandbox.bank_days). Seed 004's twelve options fix both
  figures: 2024-11-05 → 2024-12-09 (34 days) but 2024-11-06 → 2025-01-07; 2024-11-07 → 2025-01-20 (not
  2024-12-20, 43 days away); seed 001's 2022-11-04 → 2023-01-07, not 2022-12-07 (33 days). Kept in
  :class:`Product`, as fitted figures.
- **Installment fixed** (with the rate): the schedule is the exact level one of the installments'
  present value; ``issue_amount`` is that value rounded to the cent, and each printed ``due_principal``
  is the exact balance plus that rounding (its last line shows it: 98.372749735 due, 98.3711614207
  amortized).
- **IOF** (``iof_charge_method`` "financed"): each installment's ``tax_amount`` is its amortization ×
  0,0082 % × the calendar days from the disbursement to its due date (at most 365); ``base_iof`` is
  their sum, ``additional_iof`` 0,38 % of the issue amount, ``total_iof`` the two rounded to the cent.
- **Fees**: a percentage is of the issue amount, rounded to the cent (TAC 0,6 % of 382,13 = 2,29;
  spread 0,5 % of 909,75 = 4,55). TAC and TED fee come out of what is released (382,13 − 3,93 − 2,29 −
  1,00 = 374,91); the spread is added to ``assignment_amount`` (909,75 + 4,55 = 914,30).
- **CET**: the rate, compounded daily over 365 days, at which the installments are worth what is
  released; monthly ``(1 + annual)^(1/12) - 1``, printed to 4 places (0.0257), the annual to 6
  (0.355163); the issuance prints them as text, ``"2,0100%"``.

Two modes have no answer in the seeds, and are priced here with the same arithmetic (an assumption, in
the README's table): **disbursed amount fixed** (with the rate) — the issue amount is the cent whose
released amount is the one asked, the installment that issue amount's level installment rounded to the
cent; **installment and disbursed amount fixed** — the rate is solved, per option, as the annual rate (to
8 places, as the schedule uses it) nearest the exact solution that releases the amount asked (seed 001's
batch: "será calculada uma prefixed_interest_rate diferente" per option), its monthly rate printed to 4
places as seed 001 prints it.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from devtools.sandbox.bank_days import next_workday, workdays_between

CENT = Decimal("0.01")
IOF_DAILY = Decimal("0.000082")  # 0,0082 % a day: seed 004's tax_amount (92,3032577485 × 0,000082 × 34)
IOF_ADDITIONAL = Decimal("0.0038")  # 0,38 % of the issue amount: seed 004's additional_iof (909,75 → 3,45705)
IOF_MAX_DAYS = 365  # the daily IOF's cap (Decreto 6.306/2007 art. 7): no seed's schedule reaches it
PRECISION = 40


class PricingError(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def places(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


# ---------------------------------------------------------------- the lender's product at the provider


@dataclass(frozen=True)
class Fee:
    """A fee as the provider prints it in ``contract_fees``: ``percentage`` of the issue amount, or
    ``absolute``."""

    fee_type: str
    amount_type: str
    amount: Decimal

    def charge(self, issue: Decimal) -> Decimal:
        if self.amount_type == "percentage":
            return money(issue * self.amount / 100)
        return money(self.amount)


@dataclass(frozen=True)
class Product:
    """What the provider holds for the lender's product: its fees, which of them come out of what is
    released and which ``contract_fee_amount`` sums, the first-due-date figures, and the limits it refuses a
    Port+Refin leg beyond.

    The default is an INSS product: no TAC (IN 138 art. 12 forbids it), a TED fee of R$ 1,00 (seed 004
    §3's) counted in ``contract_fee_amount`` as seed 004 §4 counts its TED fee (§3's simulation counts only
    its TAC: the set is configurable, ``SANDBOX_PRODUCT_FILE``)."""

    fees: tuple[Fee, ...] = (Fee("ted_fee", "absolute", Decimal("1.00")),)
    deducted: frozenset[str] = frozenset({"tac", "ted_fee"})
    counted: frozenset[str] = frozenset({"tac", "spread", "ted_fee"})
    # Fitted to the seeds' options (see the module's docstring): no page prints the rule.
    cutoff_day: int = 5
    min_days_to_first_due: int = 34
    # The limits a Port+Refin leg is refused beyond (the taxa-máxima page: a refinancing above the maximum
    # rate is refused). Not in the seeds: the regulation's cap of 2025 (CNPS, 1,85 % a month) and IN 181/2025's
    # 96 installments, the sandbox's own copy.
    max_monthly_rate: Decimal | None = Decimal("0.0185")
    max_installments: int | None = 96

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Product:
        """``{"fees": [{"fee_type": "tac", "amount_type": "percentage", "amount": 0.6}], "deducted": [...],
        "counted": [...], "cutoff_day": 5, ...}``; what is not given keeps its default."""
        values: dict[str, Any] = dict(data)
        if "fees" in values:
            values["fees"] = tuple(
                Fee(str(f["fee_type"]), str(f["amount_type"]), Decimal(str(f["amount"]))) for f in values["fees"]
            )
        for name in ("deducted", "counted"):
            if name in values:
                values[name] = frozenset(values[name])
        for name in ("max_monthly_rate",):
            if values.get(name) is not None:
                values[name] = Decimal(str(values[name]))
        return cls(**values)


# ---------------------------------------------------------------- a quote


@dataclass(frozen=True)
class Terms:
    """Two of installment, disbursed amount and monthly rate, over one disbursement window."""

    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: int
    number_of_installments: int
    installment: Decimal | None = None
    disbursed_amount: Decimal | None = None
    monthly_rate: Decimal | None = None


@dataclass(frozen=True)
class Row:
    number: int
    due_date: date
    calendar_days: int
    workdays: int
    due_principal: Decimal
    interest: Decimal
    amortization: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Option:
    disbursement_date: date
    monthly_rate: Decimal  # as printed
    annual_rate: Decimal  # 8 places: what the schedule runs on
    daily_rate: Decimal  # 8 places, printed
    installment: Decimal
    issue_amount: Decimal
    released: Decimal  # disbursed_issue_amount: issue − IOF − deducted fees
    assignment_amount: Decimal
    fees: tuple[tuple[Fee, Decimal], ...]
    contract_fee_amount: Decimal
    base_iof: Decimal
    additional_iof: Decimal
    total_iof: Decimal
    total_interest: Decimal
    monthly_cet: Decimal
    annual_cet: Decimal
    rows: tuple[Row, ...] = field(repr=False)

    @property
    def first_due_date(self) -> date:
        return self.rows[0].due_date


def _month(start: date, months: int, day: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    # A day the month lacks (the 31st in April): its last day (ours: no seed asks for one).
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def due_dates(disbursement: date, first_due: date, count: int, product: Product) -> list[date]:
    """The requested first due date gives the day of the month, and the month unless it is too early."""
    months = 1 if disbursement.day <= product.cutoff_day else 2
    while (next_workday(_month(disbursement, months, first_due.day)) - disbursement).days < (
        product.min_days_to_first_due
    ):
        months += 1
    # Every seed asks for a first due date earlier than this (seed 004 §4: 2023-09-20, to disburse on
    # 2024-11-07), so none shows a later one kept; the field's name does: ours, a later month is kept.
    asked = (first_due.year - disbursement.year) * 12 + first_due.month - disbursement.month
    months = max(months, asked)
    return [next_workday(_month(disbursement, months + n, first_due.day)) for n in range(count)]


def annual_of(monthly: Decimal) -> Decimal:
    return places((1 + monthly) ** 12 - 1, 8)


class _Schedule:
    """The exact level schedule of one option at one annual rate, per unit of principal: what every mode
    scales."""

    def __init__(self, disbursement: date, dues: Sequence[date], annual: Decimal) -> None:
        self.disbursement, self.dues, self.annual = disbursement, list(dues), annual
        log = (1 + annual).ln()
        previous = disbursement
        self.period_growth: list[Decimal] = []
        self.discount = Decimal(0)
        for due in self.dues:
            self.period_growth.append((log * (due - previous).days / 365).exp())
            self.discount += 1 / (log * (due - disbursement).days / 365).exp()
            previous = due
        # The IOF of one unit of principal at its exact level: amortizations scale with the principal.
        self.iof_per_unit = sum((line.tax for line in self.lines(Decimal(1), 1 / self.discount)), Decimal(0))

    def lines(self, principal: Decimal, level: Decimal, *, settle_last: bool = False) -> list[Line]:
        """Each installment of ``principal`` paid at ``level``; with ``settle_last`` the last one pays what
        is left, to the cent (a level rounded to the cent leaves some)."""
        balance, out = principal, []
        for number, (due, growth) in enumerate(zip(self.dues, self.period_growth, strict=True), start=1):
            interest = balance * (growth - 1)
            total, amortization = level, level - interest
            if settle_last and number == len(self.dues):
                total, amortization = money(balance + interest), balance
            tax = amortization * IOF_DAILY * min((due - self.disbursement).days, IOF_MAX_DAYS)
            out.append(Line(balance, interest, amortization, tax, total))
            balance -= amortization
        return out


@dataclass(frozen=True)
class Line:
    balance: Decimal
    interest: Decimal
    amortization: Decimal
    tax: Decimal
    total: Decimal


def _cet(released: Decimal, flows: Sequence[tuple[date, Decimal]], disbursement: date) -> tuple[Decimal, Decimal]:
    """(monthly, annual) CET: the annual rate, compounded daily over 365 days, at which the installments
    are worth ``released`` — Newton's method on its logarithm ``L``: ``Σ installment·e^(-L·t) = released``
    (decreasing and convex in ``L``: from below, every step stays below the root)."""
    years = [(Decimal((due - disbursement).days) / 365, amount) for due, amount in flows]
    log = Decimal(0)
    for _ in range(100):
        terms = [(t, amount * (-log * t).exp()) for t, amount in years]
        excess = sum((term for _, term in terms), Decimal(0)) - released
        step = excess / sum((t * term for t, term in terms), Decimal(0))
        log += step
        if abs(step) < Decimal("1e-30"):
            break
    return places((log / 12).exp() - 1, 4), places(log.exp() - 1, 6)


def _option(
    product: Product,
    disbursement: date,
    dues: Sequence[date],
    schedule: _Schedule,
    *,
    monthly: Decimal,
    installment: Decimal,
    principal: Decimal,
    level: Decimal,
    issue: Decimal,
    settle_last: bool = False,
) -> Option:
    """One option: the schedule of ``principal`` at ``level``, printed with ``issue`` and ``installment``."""
    lines = schedule.lines(principal, level, settle_last=settle_last)
    base_iof = sum((line.tax for line in lines), Decimal(0))
    additional = issue * IOF_ADDITIONAL
    total_iof = money(base_iof + additional)
    fees = tuple((fee, fee.charge(issue)) for fee in product.fees)
    deducted = sum((amount for fee, amount in fees if fee.fee_type in product.deducted), Decimal(0))
    added = sum((amount for fee, amount in fees if fee.fee_type not in product.deducted), Decimal(0))
    released = issue - total_iof - deducted
    monthly_cet, annual_cet = _cet(
        released, [(due, line.total) for due, line in zip(dues, lines, strict=True)], disbursement
    )
    previous = disbursement
    rows = []
    for number, (due, line) in enumerate(zip(dues, lines, strict=True), start=1):
        rows.append(
            Row(
                number=number,
                due_date=due,
                calendar_days=(due - previous).days,
                workdays=workdays_between(previous, due),
                due_principal=line.balance + (issue - principal),
                interest=line.interest,
                amortization=line.amortization,
                tax=line.tax,
                total=line.total,
            )
        )
        previous = due
    return Option(
        disbursement_date=disbursement,
        monthly_rate=monthly,
        annual_rate=schedule.annual,
        daily_rate=places(((1 + schedule.annual).ln() / 365).exp() - 1, 8),
        installment=installment,
        issue_amount=issue,
        released=released,
        assignment_amount=issue + added,
        fees=fees,
        contract_fee_amount=sum((a for fee, a in fees if fee.fee_type in product.counted), Decimal(0)),
        base_iof=base_iof,
        additional_iof=additional,
        total_iof=total_iof,
        total_interest=sum((line.interest for line in lines), Decimal(0)),
        monthly_cet=monthly_cet,
        annual_cet=annual_cet,
        rows=tuple(rows),
    )


def _by_installment(
    product: Product, disbursement: date, dues: Sequence[date], monthly: Decimal, installment: Decimal
) -> Option:
    schedule = _Schedule(disbursement, dues, annual_of(monthly))
    value = installment * schedule.discount
    return _option(
        product,
        disbursement,
        dues,
        schedule,
        monthly=monthly,
        installment=installment,
        principal=value,
        level=installment,
        issue=money(value),
    )


def _released(product: Product, value: Decimal, iof_per_unit: Decimal) -> Decimal:
    """What an installment schedule worth ``value`` (exactly) releases: its issue amount (``value`` to the
    cent) less the IOF (daily on the exact schedule, additional on the issue amount) and deducted fees."""
    issue = money(value)
    fees = sum((f.charge(issue) for f in product.fees if f.fee_type in product.deducted), Decimal(0))
    return issue - money(value * iof_per_unit + issue * IOF_ADDITIONAL) - fees


def _by_disbursed(
    product: Product, disbursement: date, dues: Sequence[date], monthly: Decimal, disbursed: Decimal
) -> Option:
    """The issue amount is the cent whose released amount is the one asked; the installment is that issue
    amount's level installment to the cent, the last one paying what is left (seed 002 §13's leg, issued
    for a fixed amount, prints 382,17, 382,17 and then 382,16)."""
    schedule = _Schedule(disbursement, dues, annual_of(monthly))
    absolute = sum(
        (f.amount for f in product.fees if f.fee_type in product.deducted and f.amount_type != "percentage"),
        Decimal(0),
    )
    percentage = sum(
        (f.amount / 100 for f in product.fees if f.fee_type in product.deducted and f.amount_type == "percentage"),
        Decimal(0),
    )
    kept = 1 - schedule.iof_per_unit - IOF_ADDITIONAL - percentage
    if kept <= 0:
        raise PricingError("financial.disbursed_amount", "IOF and fees take the whole amount")

    def released(issue: Decimal) -> Decimal:
        lines = schedule.lines(issue, money(issue / schedule.discount), settle_last=True)
        iof = money(sum((line.tax for line in lines), Decimal(0)) + issue * IOF_ADDITIONAL)
        fees = sum((f.charge(issue) for f in product.fees if f.fee_type in product.deducted), Decimal(0))
        return issue - iof - fees

    # From just below the exact issue amount, a cent at a time: the first that releases what was asked
    # (each cent more releases one more, or none).
    issue = money((disbursed + absolute) / kept) - 3 * CENT
    while released(issue) < disbursed:
        issue += CENT
    return _option(
        product,
        disbursement,
        dues,
        schedule,
        monthly=monthly,
        installment=money(issue / schedule.discount),
        principal=issue,
        level=money(issue / schedule.discount),
        issue=issue,
        settle_last=True,
    )


def _float_released(
    disbursement: date, dues: Sequence[date], installment: float, annual: float, fees: Product
) -> float:
    """What ``annual`` releases, unrounded, in floats: only to find where the exact answer lies."""
    log = math.log1p(annual)
    years = [(due - disbursement).days / 365 for due in dues]
    discount = sum(math.exp(-log * t) for t in years)
    level, balance, previous, tax = 1 / discount, 1.0, 0.0, 0.0
    for t, due in zip(years, dues, strict=True):
        amortization = level - balance * math.expm1(log * (t - previous))
        tax += amortization * float(IOF_DAILY) * min((due - disbursement).days, IOF_MAX_DAYS)
        balance, previous = balance - amortization, t
    value = installment * discount
    deducted = [f for f in fees.fees if f.fee_type in fees.deducted]
    charged = sum(float(f.amount) * (value / 100 if f.amount_type == "percentage" else 1) for f in deducted)
    return value * (1 - tax - float(IOF_ADDITIONAL)) - charged


def _by_rate(
    product: Product, disbursement: date, dues: Sequence[date], installment: Decimal, disbursed: Decimal
) -> Option:
    target = float(disbursed)

    def exact(annual: float) -> float:
        return _float_released(disbursement, dues, float(installment), annual, product)

    low, high = 1e-9, 1.0
    if exact(low) < target:
        raise PricingError("financial.disbursed_amount", "the installments do not pay it back even at a zero rate")
    while exact(high) > target:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if exact(middle) > target else (low, middle)
    # On the 8-place grid the schedule runs on: from the exact rate, toward the side whose rounded figures
    # release the amount asked, the nearest rate that does (released falls as the rate rises, a cent at a time).
    step = Decimal("0.00000001")
    annual = places(Decimal(repr((low + high) / 2)), 8)

    def released(candidate: Decimal) -> Decimal:
        schedule = _Schedule(disbursement, dues, candidate)
        return _released(product, installment * schedule.discount, schedule.iof_per_unit)

    here = released(annual)
    if here != disbursed:
        direction = 1 if here > disbursed else -1
        near, far = 0, 1
        while (released(annual + direction * far * step) - disbursed) * direction > 0:
            near, far = far, far * 2
        while far - near > 1:  # the first step past the amount asked, then the last one still at it
            middle = (near + far) // 2
            near, far = (
                (middle, far)
                if (released(annual + direction * middle * step) - disbursed) * direction > 0
                else (near, middle)
            )
        annual += direction * far * step
    return _rate_option(product, disbursement, dues, installment, annual)


def _rate_option(
    product: Product, disbursement: date, dues: Sequence[date], installment: Decimal, annual: Decimal
) -> Option:
    schedule = _Schedule(disbursement, dues, annual)
    value = installment * schedule.discount
    monthly = places(((1 + annual).ln() / 12).exp() - 1, 4)
    return _option(
        product,
        disbursement,
        dues,
        schedule,
        monthly=monthly,
        installment=installment,
        principal=value,
        level=installment,
        issue=money(value),
    )


def quote(terms: Terms, product: Product) -> list[Option]:
    """Every disbursement option of the window, one per calendar day (weekends included, as the seeds'
    eight options of 2024-11-07 to 2024-11-14 are)."""
    if terms.number_of_installments < 1:
        raise PricingError("financial.number_of_installments", "must be at least 1")
    given = (terms.installment is not None, terms.disbursed_amount is not None, terms.monthly_rate is not None)
    if sum(given) < 2:
        raise PricingError("financial", "give two of installment_face_value, disbursed_amount, monthly_interest_rate")
    options = []
    with localcontext() as context:
        context.prec = PRECISION
        for offset in range(terms.limit_days_to_disburse + 1):
            disbursement = terms.disbursement_date + timedelta(days=offset)
            dues = due_dates(disbursement, terms.first_due_date, terms.number_of_installments, product)
            if terms.installment is not None and terms.monthly_rate is not None:
                options.append(_by_installment(product, disbursement, dues, terms.monthly_rate, terms.installment))
            elif terms.disbursed_amount is not None and terms.monthly_rate is not None:
                options.append(_by_disbursed(product, disbursement, dues, terms.monthly_rate, terms.disbursed_amount))
            else:
                assert terms.installment is not None and terms.disbursed_amount is not None
                options.append(_by_rate(product, disbursement, dues, terms.installment, terms.disbursed_amount))
    return options


def limits_broken(product: Product, options: Sequence[Option], number_of_installments: int) -> str | None:
    """What a Port+Refin leg breaks of the product's limits, in words; None when nothing."""
    if product.max_installments is not None and number_of_installments > product.max_installments:
        return f"financial.number_of_installments: {number_of_installments} is above {product.max_installments}"
    if product.max_monthly_rate is not None:
        # From the 8-place annual rate each option runs on, to 6 places (1,85 % a month stays 0.018500).
        with localcontext() as context:
            context.prec = PRECISION
            highest = max(places(((1 + o.annual_rate).ln() / 12).exp() - 1, 6) for o in options)
        if highest > product.max_monthly_rate:
            return f"financial.monthly_interest_rate: {highest} is above the maximum {product.max_monthly_rate}"
    return None
