"""Disbursed-amount mode and rate mode: the issue amount, or the monthly rate, that releases an amount.

Both answers are defined by a search over whole schedules (the engine's first solvers, kept as
the reference in ``tests/domain/pricing/test_solvers.py``): a bisection over centavos of issue
amount, and one over monthly rates to 8 places. Released amounts are rounded figures, so they can
step back a centavo where two roundings meet, and there the answer depends on the path the
bisection takes. The solvers here take the same path, so they give the same centavo and the same
rate every time; what changes is what each step costs:

- **issue amount**: with the rate fixed, the daily IOF of a schedule is linear in the issue amount
  and the installment (``a·issue + b·installment``, the coefficients from one pass over the
  periods), so each step is a few Decimal operations instead of a schedule.
- **rate**: a few Newton steps on the closed form of the released amount as a function of the
  daily rate (present value Σ installment·e^(−λ·days) and the daily IOF in Abel form, with their
  derivatives, from one pass over the periods each). Released falls as the rate rises — the
  closed form strictly (see :func:`_max_monotone_share`), the rounded figure to within the few
  half centavos of its roundings — so bisection steps far from the root are decided without a
  schedule; the few near it evaluate the closed form by a Taylor expansion around the root, with
  its remainder bounded.

A figure computed in binary floating point is used only when its rounding to the centavo is
certain: when the bound on its error straddles a half centavo, the step falls back to the
schedule in Decimal (the reference's own arithmetic). So every answer is the reference's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import accumulate, repeat
from operator import mul, sub, truediv
from typing import NamedTuple

from domain import ptbr
from domain.money import round_money
from domain.pricing.product import AmountType, ProductConfig
from domain.pricing.schedule import (
    CENT,
    CONTEXT,
    MAX_SOLVED_MONTHLY_RATE,
    OptionDates,
    PricingError,
    Rates,
    annual_rate,
    price_installment,
    rates_for,
    released_for_issue,
    tax_factors,
)
from domain.regulation import IOF_ADDITIONAL_RATE, IOF_DAILY_RATE, IOF_MAX_DAYS

_EPS = 2.0**-52
# A float figure is rounded to the centavo only if its error bound, times this, stays clear of the
# half centavo; tests set it huge to send every step through the Decimal fallback.
SAFETY = 4.0


def _round_cents(value: float, error: float) -> Decimal | None:
    """``value`` rounded half up to the centavo, or None when ``error`` makes that uncertain."""
    cents = value * 100.0
    below = math.floor(cents)
    if abs(cents - below - 0.5) * 0.01 <= SAFETY * error + 1e-12 * abs(value):
        return None
    return Decimal(below + 1 if cents - below > 0.5 else below).scaleb(-2)


@dataclass(frozen=True)
class _Deductions:
    """What a product's fees take out of an issue amount before it reaches the borrower."""

    percentages: tuple[Decimal, ...]  # of the issue amount, each rounded to the centavo
    absolute: Decimal  # the sum of the absolute ones, each rounded to the centavo
    share: float  # the percentages' sum, as a fraction

    def released(self, issue: Decimal, iof: Decimal) -> Decimal:
        """issue − IOF − deducted fees, as :func:`domain.pricing.schedule.fees` computes them."""
        taken = self.absolute
        for percentage in self.percentages:
            share = CONTEXT.divide(CONTEXT.multiply(issue, percentage), _HUNDRED)
            taken += share.quantize(CENT, ROUND_HALF_UP, CONTEXT)
        return issue - iof - taken


_HUNDRED = Decimal(100)


@lru_cache(maxsize=64)
def _deductions(product: ProductConfig) -> _Deductions:
    taken = [f for f in product.fees if f.fee_type in product.deducted_fee_types]
    percentages = tuple(f.amount for f in taken if f.amount_type == AmountType.PERCENTAGE)
    absolute = sum((round_money(f.amount) for f in taken if f.amount_type == AmountType.ABSOLUTE), Decimal(0))
    return _Deductions(percentages, absolute, float(sum(percentages, Decimal(0))) / 100.0)


@lru_cache(maxsize=1024)
def _taxes(cumulative: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(map(float, tax_factors(cumulative)))


# ---------------------------------------------------------------- issue amount (rate fixed)


def issue_amount(
    product: ProductConfig,
    rates: Rates,
    dates: OptionDates,
    period_rates: Sequence[Decimal],
    pv_factor: Decimal,
    target: Decimal,
) -> Decimal:
    """The issue amount (in centavos) whose released amount reaches ``target``: the one the
    reference's bisection finds, the smallest one wherever released grows with the issue amount.

    Released grows by just under a centavo per centavo of issue, so there is almost always an
    exact match; when rounding skips it, the borrower gets the centavo above, never below.
    ``period_rates``: each period's growth − 1; ``pv_factor``: the present value of 1 a period.
    """
    return bisect_issue(_IssueModel(product, rates, dates, period_rates, pv_factor).released, target)


def bisect_issue(released: Callable[[Decimal], Decimal], target: Decimal) -> Decimal:
    """The reference's bisection over centavos of issue amount, step for step."""
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


class _IssueModel:
    """Released amount for an issue amount at a fixed rate, in O(1) a step.

    The schedule: balance_1 = issue; interest_k = balance_k·(g_k − 1); amortization_k =
    installment − interest_k; balance_{k+1} = balance_k·g_k − installment; the last amortization is
    what is left of the issue amount. Each balance is α_k·issue − β_k·installment, so the daily IOF
    Σ t_k·amortization_k = t_n·issue + Σ_{k<n} (t_k − t_n)·amortization_k is a·issue + b·installment;
    t_k − t_n is zero once the IOF's 365 days are reached, so only the first year's rows count.
    """

    def __init__(
        self,
        product: ProductConfig,
        rates: Rates,
        dates: OptionDates,
        period_rates: Sequence[Decimal],
        pv_factor: Decimal,
    ) -> None:
        self.product, self.rates, self.dates, self.pv_factor = product, rates, dates, pv_factor
        self.deductions = _deductions(product)
        taxes = _taxes(dates.cumulative)
        last_tax = taxes[-1]
        alpha, beta = 1.0, 0.0
        a = b = size_a = size_b = spread = 0.0
        for period_rate, tax in zip(period_rates[:-1], taxes, strict=False):
            weight = tax - last_tax
            if weight == 0.0:  # this row and every later one reached the cap, as the last did
                break
            gm1 = float(period_rate)
            term_a, term_b = weight * -alpha * gm1, weight * (1.0 + beta * gm1)
            a += term_a
            b += term_b
            size_a += abs(term_a)
            size_b += abs(term_b)
            spread -= weight
            alpha += alpha * gm1
            beta += beta * gm1 + 1.0
        self.a, self.b = a + last_tax, b
        self.size_a, self.size_b = size_a + last_tax, size_b
        # Float error grows with each period's operations; the provider's interest is rounded to
        # 10 places (half of 1e-10 a row, weighted by the tax spread).
        self.relative = 8.0 * (len(period_rates) + 4) * _EPS
        self.rounding = 5e-11 * spread + 1e-12

    def released(self, issue: Decimal) -> Decimal:
        installment = CONTEXT.divide(issue, self.pv_factor).quantize(CENT, ROUND_HALF_UP, CONTEXT)
        amount, payment = float(issue), float(installment)
        additional = float(CONTEXT.multiply(issue, _ADDITIONAL))
        iof = self.a * amount + self.b * payment + additional
        error = self.relative * (self.size_a * amount + self.size_b * payment + additional) + self.rounding
        rounded = _round_cents(iof, error)
        if rounded is None:
            return released_for_issue(self.product, self.rates, self.dates, issue)
        return self.deductions.released(issue, rounded)


# ---------------------------------------------------------------- monthly rate (installment fixed)

_EIGHTH = Decimal("0.00000001")
_TOP = int(MAX_SOLVED_MONTHLY_RATE / _EIGHTH)  # the rates are searched in units of 1e-8
# Log daily rates: where the root search starts (2 % a month) and the top rate's, with a margin.
_START = math.log1p(0.02) * 12.0 / 365.0
_LAM_TOP = math.log1p(float(MAX_SOLVED_MONTHLY_RATE)) * 12.0 / 365.0 * 1.01


def monthly_rates(
    product: ProductConfig, window: Sequence[OptionDates], installment: Decimal, target: Decimal
) -> list[Decimal]:
    """For each option, the monthly rate (8 places) at which it releases ``target`` for this installment."""
    solved: list[float] = []  # each option's root, log daily: the next option's starting point
    rates = []
    for dates in window:
        if len(solved) >= 2:
            start = 2 * solved[-1] - solved[-2]
        elif solved:
            start = solved[-1]
        else:
            start = None
        model = _RateModel(product, dates, installment, target, start)
        rates.append(bisect_rate(model, installment, target))
        if model.root is not None:
            solved.append(model.root)
    return rates


class RateSearch:
    """What the rate bisection asks about a rate ``units`` × 1e-8: its released amount, or only
    whether it reaches the target (the reference answers both with a whole schedule). Rates at or
    below ``sure_low`` are known to reach it, at or above ``sure_high`` known not to."""

    sure_low, sure_high = 0, _TOP + 1

    def released(self, units: int) -> Decimal:
        raise NotImplementedError

    def reaches(self, units: int) -> bool:  # released >= target
        raise NotImplementedError

    def exceeds(self, units: int) -> bool:  # released > target
        raise NotImplementedError


def bisect_rate(search: RateSearch, installment: Decimal, target: Decimal) -> Decimal:
    """The reference's bisection over monthly rates to 8 places, step for step, in units of 1e-8:
    its midpoints round half up, so (low + high + 1) // 2."""
    low, high = 1, _TOP
    if search.exceeds(high) or not search.reaches(low):
        raise PricingError(
            "financial.disbursed_amount",
            f"no monthly rate up to {ptbr.rate(MAX_SOLVED_MONTHLY_RATE)} releases {ptbr.money(target)} "
            f"with installments of {ptbr.money(installment)}",
        )
    sure_low, sure_high = search.sure_low, search.sure_high
    while high - low > 1:  # released falls as the rate rises: released(low) >= target > released(high)
        middle = (low + high + 1) // 2
        if middle <= sure_low or (middle < sure_high and search.reaches(middle)):
            low = middle
        else:
            high = middle
    best = low if abs(search.released(low) - target) <= abs(search.released(high) - target) else high
    # The reference's bounds are the Decimals 1E-8 and 0.2; its midpoints are quantized to 8 places.
    return MAX_SOLVED_MONTHLY_RATE if best == _TOP else Decimal(best).scaleb(-8)


def released_at_rate(product: ProductConfig, dates: OptionDates, installment: Decimal, monthly: Decimal) -> Decimal:
    """The whole schedule at a monthly rate (the reference's step, and the fallback)."""
    [option] = price_installment(product, rates_for(monthly), installment, [dates], with_cet=False)
    return option.disbursed_issue_amount


class _Point(NamedTuple):
    """The closed form at one log daily rate λ: present value and daily IOF with their first two
    derivatives in λ, and the float error of the sums."""

    lam: float
    pv: float
    pv1: float
    pv2: float
    iof: float
    iof1: float
    iof2: float
    error: float


def _max_monotone_share() -> float:
    """The largest share of percentage fees for which the released amount's closed form surely
    falls as the rate rises, up to the top rate.

    Released = (1 − 0.38 % − fees)·PV − Σ_k w_k·B_k, where w_k ≥ 0 are the steps of the daily IOF
    factor (non-zero only while the cap is not reached, and summing to at most daily IOF × cap) and
    B_k = installment·Σ_{j≥k} e^(−λ(c_j − c_{k−1})) the balance before installment k. Its derivative
    in λ is, per installment j, −installment·e^(−λ c_j)·[c_j(1 − 0.38 % − fees) − Σ_{k≤j} w_k (c_j −
    c_{k−1}) e^(λ c_{k−1})], and the bracket is positive when 1 − 0.38 % − fees > daily IOF × cap ×
    (1 + annual)^(cap/365), the annual rate at its top (c_{k−1} < cap where w_k > 0).
    """
    cap = IOF_MAX_DAYS.value
    annual = float(annual_rate(MAX_SOLVED_MONTHLY_RATE))
    spread = float(IOF_DAILY_RATE.value) * cap * math.pow(1.0 + annual, cap / 365.0)
    return 1.0 - float(IOF_ADDITIONAL_RATE.value) - 1.01 * spread


_MAX_MONOTONE_SHARE = _max_monotone_share()
_ADDITIONAL = IOF_ADDITIONAL_RATE.value


class _RateModel(RateSearch):
    """The rate bisection's questions answered from the closed form (see the module's docstring)."""

    # Taylor expansions are used within this distance, in λ × the longest cumulative days.
    REACH = 2e-3

    def __init__(
        self, product: ProductConfig, dates: OptionDates, installment: Decimal, target: Decimal, start: float | None
    ) -> None:
        self.product, self.dates, self.installment, self.target = product, dates, installment, target
        self.deductions = deductions = _deductions(product)
        # What of the present value the borrower keeps before the daily IOF, and what is taken whatever it is.
        self.keep = 1.0 - float(_ADDITIONAL) - deductions.share
        self.fixed = float(deductions.absolute)
        # |released − closed form|: the roundings to the centavo (issue, IOF, each percentage fee).
        self.spread = 0.005 * (2 + len(deductions.percentages)) + 1e-6
        self.cumulative = dates.cumulative_float
        self.longest = float(dates.cumulative[-1])
        taxes = _taxes(dates.cumulative)
        steps = [taxes[0]]
        for k in range(1, len(taxes)):
            if dates.cumulative[k - 1] >= IOF_MAX_DAYS.value:
                break
            steps.append(taxes[k] - taxes[k - 1])
        self.steps = steps  # w_k, non-zero only while c_{k−1} is under the cap
        self.previous = [0.0, *map(float, dates.cumulative[: len(steps) - 1])]  # c_{k−1}
        self.payment = float(installment)
        self.rounding = 5e-11 * sum(taxes) + 1e-12  # the provider's 10-place interest, per row
        self.memo: dict[int, Decimal] = {}
        self.points: list[_Point] = []
        self.root: float | None = None
        self.sure_low, self.sure_high = 0, _TOP + 1  # rates ≤ sure_low reach the target, ≥ sure_high do not
        if deductions.share < _MAX_MONOTONE_SHARE:
            self._solve(float(target), start)

    # -- the closed form

    def _point(self, lam: float) -> _Point:
        cumulative, payment, steps, previous = self.cumulative, self.payment, self.steps, self.previous
        discounts = list(map(math.exp, map(mul, repeat(-lam), cumulative)))
        weighted = list(map(mul, cumulative, discounts))
        squared = list(map(mul, cumulative, weighted))
        total, first, second = sum(discounts), sum(weighted), sum(squared)
        # Daily IOF in Abel form: Σ_k w_k B_k, B_k = installment·e^(λ c_{k−1})·Σ_{j≥k} e^(−λ c_j), and
        # its derivatives from the tails Σ_{j≥k} c_j^i e^(−λ c_j) (the sums less their heads, j < k).
        head = len(steps) - 1
        scaled = list(map(truediv, steps, [1.0, *discounts[:head]]))  # w_k e^(λ c_{k−1})
        rest = list(map(sub, repeat(total), accumulate(discounts[:head], initial=0.0)))
        rest_weighted = list(map(sub, repeat(first), accumulate(weighted[:head], initial=0.0)))
        rest_squared = map(sub, repeat(second), accumulate(squared[:head], initial=0.0))
        once = list(map(mul, scaled, previous))
        twice = map(mul, once, previous)
        iof = sum(map(mul, scaled, rest))
        slope = sum(map(mul, once, rest)) - sum(map(mul, scaled, rest_weighted))
        curve = sum(map(mul, scaled, rest_squared)) - 2 * sum(map(mul, once, rest_weighted))
        curve += sum(map(mul, twice, rest))
        pv = payment * total
        point = _Point(
            lam,
            pv,
            -payment * first,
            payment * second,
            payment * iof,
            payment * slope,
            payment * curve,
            8.0 * (len(cumulative) + 4) * _EPS * pv,
        )
        self.points.append(point)
        return point

    def _near(self, lam: float) -> _Point:
        """The expansion point closest to λ, or a new one there when none is within reach."""
        best, distance = None, math.inf
        for point in self.points:
            if abs(point.lam - lam) < distance:
                best, distance = point, abs(point.lam - lam)
        if best is None or distance * self.longest > self.REACH:
            best = self._point(lam)
        return best

    def _at(self, lam: float) -> tuple[float, float, float, float]:
        """Present value and daily IOF at λ (second-order expansions), each with a bound on its
        error: the float error of the sums, and the remainder, as the third derivative of either sum
        of positive exponentials is at most c³ times the sum over the interval (c the longest
        cumulative days)."""
        point = self._near(lam)
        delta = lam - point.lam
        reach = abs(delta) * self.longest
        grow = math.exp(reach)
        remainder = grow * reach**3 / 6.0
        error = point.error * grow
        return (
            point.pv + delta * (point.pv1 + 0.5 * delta * point.pv2),
            error + point.pv * remainder,
            point.iof + delta * (point.iof1 + 0.5 * delta * point.iof2),
            error + point.iof * remainder + self.rounding,
        )

    def _closed(self, lam: float) -> tuple[float, float]:
        """The released amount's closed form at λ, and a bound on its error."""
        pv, pv_error, iof, iof_error = self._at(lam)
        return self.keep * pv - iof - self.fixed, pv_error + iof_error + 1e-9

    @staticmethod
    def _lam(units: int) -> float:
        """The log daily rate of a monthly rate ``units`` × 1e-8, through its annual rate to 8 places.

        (1 + monthly)^12 − 1 in floats is within 2e-14 of the Decimal figure (up to the top rate), so
        where it is further than 1e-12 from a half-way point, it rounds to the same 8 places."""
        scaled = ((1.0 + units / 1e8) ** 12 - 1.0) * 1e8
        below = math.floor(scaled)
        if abs(scaled - below - 0.5) > 1e-4:
            annual = (below + 1 if scaled - below > 0.5 else below) / 1e8
        else:
            annual = float(annual_rate(Decimal(units).scaleb(-8)))
        return math.log1p(annual) / 365.0

    # -- the root, and the band of rates around it where the rounding decides

    def _solve(self, target: float, start: float | None) -> None:
        keep, fixed, longest = self.keep, self.fixed, self.longest
        lam = start if start is not None and start > 0 else _START
        for _ in range(16):
            point = self._point(lam)
            # Newton on the expansion around this point; a new point when the root leaves its reach.
            for _ in range(20):
                delta = lam - point.lam
                value = keep * (point.pv + delta * (point.pv1 + 0.5 * delta * point.pv2)) - fixed - target
                value -= point.iof + delta * (point.iof1 + 0.5 * delta * point.iof2)
                slope = keep * (point.pv1 + delta * point.pv2) - (point.iof1 + delta * point.iof2)
                if slope >= 0:
                    return
                step = value / slope
                lam -= step
                if abs(step) * longest < 1e-10 or abs(lam - point.lam) * longest > self.REACH:
                    break
            if lam <= 0:  # overshot from above the root (the closed form is convex): come back gently
                lam = point.lam / 4
            elif lam > _LAM_TOP:  # the root is beyond the top rate: the bisection's bounds decide
                if point.lam >= _LAM_TOP:
                    return
                lam = _LAM_TOP
            elif abs(lam - point.lam) * longest <= self.REACH:
                self.root = lam
                self._band(lam, target, slope)
                return

    def _band(self, lam: float, target: float, slope: float) -> None:
        """Grid rates on either side of the root where the closed form is more than the spread away
        from the target: at or below the lower one every rate reaches it, at or above the upper none
        does (the closed form falls as the rate rises; the released amount is within the spread)."""
        monthly = math.expm1(lam * 365.0 / 12.0)
        center = monthly * 1e8
        per_unit = -slope * 12.0 / 365.0 / (1.0 + monthly) * 1e-8  # released per 1e-8 of monthly rate
        if not per_unit > 1e-9:  # flat: no band worth finding, every step is evaluated
            return
        start = int(1.25 * self.spread / per_unit) + 2
        width = start
        for _ in range(8):
            low = max(math.floor(center) - width, 0)
            if low >= 1:
                value, error = self._closed(self._lam(low))
                if value - error < target + self.spread:
                    width *= 2
                    continue
            self.sure_low = low
            break
        width = start
        for _ in range(8):
            high = min(math.ceil(center) + width, _TOP + 1)
            if high <= _TOP:
                value, error = self._closed(self._lam(high))
                if value + error >= target - self.spread:
                    width *= 2
                    continue
            self.sure_high = high
            break

    # -- the bisection's questions

    def released(self, units: int) -> Decimal:
        known = self.memo.get(units)
        if known is None:
            known = self.memo[units] = self._released(units)
        return known

    def _released(self, units: int) -> Decimal:
        pv, pv_error, iof, iof_error = self._at(self._lam(units))
        issue = _round_cents(pv, pv_error)
        if issue is not None:
            additional = float(CONTEXT.multiply(issue, _ADDITIONAL))
            total = _round_cents(iof + additional, iof_error + 4 * _EPS * additional)
            if total is not None:
                return self.deductions.released(issue, total)
        monthly = Decimal(units).scaleb(-8) if units != _TOP else MAX_SOLVED_MONTHLY_RATE
        return released_at_rate(self.product, self.dates, self.installment, monthly)

    def reaches(self, units: int) -> bool:
        if units <= self.sure_low:
            return True
        if units >= self.sure_high:
            return False
        return self.released(units) >= self.target

    def exceeds(self, units: int) -> bool:
        if units >= self.sure_high:
            return False
        return self.released(units) > self.target
