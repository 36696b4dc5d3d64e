"""Pricing a portability (Port+Refin INSS, seed 002): pure, no I/O, no clock.

The ported balance is the origin bank's (its ``last_due_balance``), fixed: the lender chooses the
monthly rate and the term, and the portability leg's installment follows. The optional refinancing
leg (the *troco*) has its own installment and rate over the same term; what it releases above the
ported balance is the troco, paid to the borrower.

Same engine and rounding as a new credit (:func:`domain.pricing.engine.quote`), and the same legs as the
sandbox prices a proposal (``devtools/sandbox/portability.py``): the portability leg in disbursed-amount mode
(the ported balance is what must be released, to the origin bank), the refinancing leg in
installment mode (its released amount follows from installment and rate). Both price every
disbursement option of the window; the figures of the first option are the request's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain import ptbr
from domain.pricing.engine import PricingError, Quote, QuoteRequest, quote
from domain.pricing.product import INSS_DEFAULT_PRODUCT, ProductConfig
from domain.regulation import MAX_INSTALLMENTS, MAX_MONTHLY_RATE

PORTABILITY = "portability_credit_operation"
REFINANCING = "refinancing_credit_operation"
BALANCE_FIELD = "origin_contract.last_due_balance"
TROCO_FIELD = "troco"


@dataclass(frozen=True)
class TrocoLeg:
    """The refinancing leg of a Port+Refin: its installment and rate (the term is the portability's)."""

    installment_face_value: Decimal
    monthly_interest_rate: Decimal


@dataclass(frozen=True)
class PortabilityPrice:
    ported_balance: Decimal
    portability: Quote  # disbursed-amount mode: every option releases the ported balance
    refinancing: Quote | None = None  # installment mode, when there is a troco leg

    @property
    def installment(self) -> Decimal:
        """The portability leg's installment, to the cent."""
        return self.portability.first.installment_value

    @property
    def released(self) -> Decimal | None:
        """What the refinancing leg releases (its ``disbursed_issue_amount``)."""
        return None if self.refinancing is None else self.refinancing.first.disbursed_issue_amount

    @property
    def troco(self) -> Decimal | None:
        """The refinancing leg's released amount minus the ported balance: what reaches the borrower."""
        released = self.released
        return None if released is None else released - self.ported_balance

    @property
    def trocos(self) -> tuple[tuple[date, Decimal], ...]:
        """The troco of every disbursement option of the window."""
        if self.refinancing is None:
            return ()
        return tuple(
            (o.disbursement_date, o.disbursed_issue_amount - self.ported_balance) for o in self.refinancing.options
        )


def price_portability(
    *,
    ported_balance: Decimal,
    monthly_interest_rate: Decimal,
    number_of_installments: int,
    first_due_date: date,
    disbursement_date: date,
    limit_days_to_disburse: int = 0,
    troco: TrocoLeg | None = None,
    max_monthly_rate: Decimal = MAX_MONTHLY_RATE.value,
    max_installments: int = MAX_INSTALLMENTS.value,
    product: ProductConfig = INSS_DEFAULT_PRODUCT,
) -> PortabilityPrice:
    """Price a portability and, optionally, its troco leg; raise :class:`PricingError` (its ``field``
    names the offending input) for a rate above ``max_monthly_rate``, more installments than
    ``max_installments``, a troco of zero or less on any disbursement option, or anything the engine
    or the product's rules refuse."""
    if ported_balance <= 0:
        raise PricingError(BALANCE_FIELD, f"the ported balance must be positive, not {ptbr.money(ported_balance)}")
    _check_rate(PORTABILITY, monthly_interest_rate, max_monthly_rate)
    if number_of_installments < 1:
        raise PricingError(f"{PORTABILITY}.financial.number_of_installments", "must be at least 1")
    if number_of_installments > max_installments:
        raise PricingError(
            f"{PORTABILITY}.financial.number_of_installments",
            f"{number_of_installments} installments is above the maximum of {max_installments}",
        )
    if troco is not None:
        _check_rate(REFINANCING, troco.monthly_interest_rate, max_monthly_rate)
        if troco.installment_face_value <= 0:
            raise PricingError(
                f"{REFINANCING}.financial.installment_face_value",
                f"must be positive, not {ptbr.money(troco.installment_face_value)}",
            )

    def request(**fixed: Decimal) -> QuoteRequest:
        return QuoteRequest(
            first_due_date=first_due_date,
            disbursement_date=disbursement_date,
            limit_days_to_disburse=limit_days_to_disburse,
            number_of_installments=number_of_installments,
            installment_face_value=fixed.get("installment"),
            disbursed_amount=fixed.get("disbursed"),
            monthly_interest_rate=fixed["rate"],
        )

    ported = _quote(PORTABILITY, request(disbursed=ported_balance, rate=monthly_interest_rate), product)
    price = PortabilityPrice(ported_balance=ported_balance, portability=ported)
    if troco is None:
        return price
    refinanced = _quote(
        REFINANCING,
        request(installment=troco.installment_face_value, rate=troco.monthly_interest_rate),
        product,
    )
    price = PortabilityPrice(ported_balance=ported_balance, portability=ported, refinancing=refinanced)
    for day, amount in price.trocos:
        if amount <= 0:
            released = amount + ported_balance
            raise PricingError(
                TROCO_FIELD,
                f"the refinancing releases {ptbr.money(released)} on {ptbr.day(day)}, not more than the ported "
                f"balance {ptbr.money(ported_balance)}: troco {ptbr.money(amount)}",
            )
    return price


def _check_rate(leg: str, rate: Decimal, cap: Decimal) -> None:
    field = f"{leg}.financial.monthly_interest_rate"
    if rate < 0:
        raise PricingError(field, f"must not be negative, not {ptbr.rate(rate, exact=True)}")
    if rate > cap:
        raise PricingError(field, ptbr.rate_above_cap(rate, cap))


def _quote(leg: str, request: QuoteRequest, product: ProductConfig) -> Quote:
    """The engine's quote of one leg, its refusals and the product's rule violations named by leg."""
    try:
        result = quote(request, product)
    except PricingError as error:
        raise PricingError(f"{leg}.{error.field}", error.message) from None
    if result.violations:
        violation = result.violations[0]
        field = f"{leg}.{violation.field}" if violation.field.startswith("financial") else violation.field
        raise PricingError(field, violation.message)
    return result


__all__ = ["PortabilityPrice", "TrocoLeg", "price_portability"]
