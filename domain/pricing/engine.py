"""The provider's pricing (``pre_price_days``), to the cent: one quote, every disbursement option.

Three modes, by which two of installment, disbursed amount and monthly rate the request gives:
installment mode prices the schedule (:mod:`domain.pricing.schedule`); disbursed-amount mode and
rate mode have no complete example in the seeds and are solved with the same arithmetic
(:mod:`domain.pricing.solve`), not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.pricing import solve
from domain.pricing.product import ProductConfig, RuleViolation, product_rule_violations
from domain.pricing.schedule import (
    MAX_SOLVED_MONTHLY_RATE,
    CetStarts,
    FeeCharge,
    InstallmentRow,
    PricingError,
    QuoteOption,
    Rates,
    add_months,
    first_due_date,
    growth_and_rates,
    installment_for_issue,
    option_dates,
    present_value_factor,
    price_installment,
    price_issue,
    rates_for,
)

__all__ = [
    "MAX_SOLVED_MONTHLY_RATE",
    "FeeCharge",
    "InstallmentRow",
    "PricingError",
    "Quote",
    "QuoteMode",
    "QuoteOption",
    "QuoteRequest",
    "Rates",
    "add_months",
    "first_due_date",
    "mode_of",
    "quote",
    "rates_for",
]


class QuoteMode(StrEnum):
    INSTALLMENT = "installment_face_value"  # installment + rate fixed: the disbursed amount follows
    DISBURSED = "disbursed_amount"  # disbursed amount + rate fixed: the installment follows
    RATE = "rate"  # installment + disbursed amount fixed: the rate is solved


@dataclass(frozen=True)
class Quote:
    mode: QuoteMode
    options: tuple[QuoteOption, ...]
    violations: tuple[RuleViolation, ...]

    @property
    def first(self) -> QuoteOption:
        return self.options[0]


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
    window = [
        option_dates(
            request.disbursement_date + timedelta(days=i),
            request.first_due_date,
            request.number_of_installments,
            product,
        )
        for i in range(request.limit_days_to_disburse + 1)
    ]
    options: list[QuoteOption] = []
    cet_starts = CetStarts()  # shared by the options, whose due dates are mostly the same
    if mode == QuoteMode.INSTALLMENT:
        assert request.installment_face_value is not None and request.monthly_interest_rate is not None
        rates = rates_for(request.monthly_interest_rate)
        options = price_installment(product, rates, request.installment_face_value, window, cet_starts=cet_starts)
    elif mode == QuoteMode.DISBURSED:
        assert request.disbursed_amount is not None and request.monthly_interest_rate is not None
        rates = rates_for(request.monthly_interest_rate)
        for dates in window:
            factors, period_rates = growth_and_rates(rates, dates.days)
            pv_factor = present_value_factor(factors)
            issue = solve.issue_amount(product, rates, dates, period_rates, pv_factor, request.disbursed_amount)
            installment = installment_for_issue(issue, pv_factor)
            options.append(price_issue(product, rates, dates, period_rates, installment, issue, cet_starts=cet_starts))
    else:
        assert request.installment_face_value is not None and request.disbursed_amount is not None
        monthly = solve.monthly_rates(product, window, request.installment_face_value, request.disbursed_amount)
        for dates, rate in zip(window, monthly, strict=True):
            options.extend(
                price_installment(
                    product, rates_for(rate), request.installment_face_value, [dates], cet_starts=cet_starts
                )
            )
    violations = product_rule_violations(
        product,
        monthly_rate=max(o.rates.monthly for o in options),
        number_of_installments=request.number_of_installments,
    )
    return Quote(mode=mode, options=tuple(options), violations=tuple(violations))
