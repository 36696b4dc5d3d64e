"""A lender's product configuration: fees in the provider's own shape, and the settings that are the
product's choice rather than the request's (which fees count in ``contract_fee_amount``, the
first-due-date thresholds, the bank calendar's deviations, and which INSS rules to enforce)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain import ptbr
from domain.calendar import NATIONAL_DAY_OF_BLACK_AWARENESS, BankCalendar, CalendarRules
from domain.regulation import MAX_INSTALLMENTS, MAX_MONTHLY_RATE, TAC_FORBIDDEN


class FeeType(StrEnum):
    """The pricing's own names for a fee (the values are the first provider's spellings, which product
    configuration files use; each adapter translates its provider's words into these)."""

    TAC = "tac"
    TED_FEE = "ted_fee"
    SPREAD = "spread"
    SPREAD_CIP_COST = "spread_cip_cost"
    INSURANCE_PREMIUM = "insurance_premium"
    # A deduction a provider makes that no seed names (seed 003's 0.18 % of the issue amount; see
    # PROVIDER_B_PRODUCT): what the borrower receives is that much less than issue − IOF.
    DEDUCTION = "deduction"


class AmountType(StrEnum):
    """How a fee's amount reads: a percentage of the issue amount, or an absolute value."""

    PERCENTAGE = "percentage"
    ABSOLUTE = "absolute"


class FeeSpec(BaseModel):
    """``{"fee_type": "tac", "amount_type": "percentage", "amount": 0.6}`` — percentage of the issue amount."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fee_type: FeeType
    amount_type: AmountType
    amount: Annotated[Decimal, Field(ge=0)]


class InssRules(BaseModel):
    """The regulation's limits, switchable per product (the provider's own examples break them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    forbid_tac: bool = TAC_FORBIDDEN.value
    max_monthly_rate: Decimal | None = MAX_MONTHLY_RATE.value
    max_installments: int | None = MAX_INSTALLMENTS.value


class ProductConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fees: tuple[FeeSpec, ...] = ()
    # Which fees the provider sums into contract_fee_amount: TAC alone in seed 004's simulation,
    # spread + TED fee in its issuance.
    contract_fee_types: frozenset[FeeType] = frozenset({FeeType.TAC, FeeType.SPREAD})
    # Fees taken out of what the borrower receives; the rest (spread) is added to assignment_amount.
    deducted_fee_types: frozenset[FeeType] = frozenset({FeeType.TAC, FeeType.TED_FEE})
    # First due date: at least this many calendar days after the disbursement, and in month M+2 when
    # the disbursement falls after this day of month M (else M+1) — fits all 16 options in the seeds.
    min_days_to_first_due: Annotated[int, Field(ge=0, le=120)] = 34
    disbursement_cutoff_day: Annotated[int, Field(ge=0, le=31)] = 5
    # The provider's calendar deviations (see domain.calendar).
    ignored_holidays: frozenset[str] = frozenset({NATIONAL_DAY_OF_BLACK_AWARENESS})
    extra_closed_dates: frozenset[date] = frozenset()
    inss_rules: InssRules = InssRules()

    @cached_property
    def calendar(self) -> BankCalendar:
        return BankCalendar(
            CalendarRules(ignored_holidays=self.ignored_holidays, extra_closed_dates=self.extra_closed_dates)
        )


# The product behind seed 004's simulation example (TAC 0.6 %, TED fee 1.00), with the INSS rules
# off, since the provider's example itself charges a TAC.
SEED_004_SIMULATION_PRODUCT = ProductConfig(
    fees=(
        FeeSpec(fee_type=FeeType.TAC, amount_type=AmountType.PERCENTAGE, amount=Decimal("0.6")),
        FeeSpec(fee_type=FeeType.TED_FEE, amount_type=AmountType.ABSOLUTE, amount=Decimal("1.0")),
    ),
    contract_fee_types=frozenset({FeeType.TAC}),
    inss_rules=InssRules(forbid_tac=False, max_monthly_rate=None, max_installments=None),
)

# A product that follows the INSS rules: no TAC; the TED fee is the bank's transfer cost.
INSS_DEFAULT_PRODUCT = ProductConfig(
    fees=(FeeSpec(fee_type=FeeType.TED_FEE, amount_type=AmountType.ABSOLUTE, amount=Decimal("1.0")),),
    contract_fee_types=frozenset({FeeType.TED_FEE}),
)


# The second provider's product as seed 003's one operation reads (README, "The second provider's
# figures"): the first provider's arithmetic — dates, rates, schedule, IOF — and a deduction of
# 0.18 % of the issue amount out of what the borrower receives. Fitted to that one example: the seed
# prints no fee and no rate, and no second example confirms the reading. The INSS rules stay on:
# the rate comes from the product table and is checked against the cap before anything is sent.
PROVIDER_B_DEDUCTION_PERCENT = Decimal("0.18")
PROVIDER_B_PRODUCT = ProductConfig(
    fees=(FeeSpec(fee_type=FeeType.DEDUCTION, amount_type=AmountType.PERCENTAGE, amount=PROVIDER_B_DEDUCTION_PERCENT),),
    contract_fee_types=frozenset({FeeType.DEDUCTION}),
    deducted_fee_types=frozenset({FeeType.DEDUCTION}),
)


@dataclass(frozen=True)
class RuleViolation:
    field: str
    message: str
    source: str


def product_rule_violations(
    product: ProductConfig, *, monthly_rate: Decimal | None, number_of_installments: int
) -> list[RuleViolation]:
    """Every INSS rule the product enforces that this request or product breaks, with its source."""
    rules = product.inss_rules
    found = []
    if rules.forbid_tac and any(f.fee_type == FeeType.TAC and f.amount > 0 for f in product.fees):
        found.append(
            RuleViolation("product.fees", "a TAC is charged, which INSS consignado forbids", TAC_FORBIDDEN.source)
        )
    if rules.max_installments is not None and number_of_installments > rules.max_installments:
        found.append(
            RuleViolation(
                "financial.number_of_installments",
                f"{number_of_installments} installments is above the limit of {rules.max_installments}",
                MAX_INSTALLMENTS.source,
            )
        )
    if rules.max_monthly_rate is not None and monthly_rate is not None and monthly_rate > rules.max_monthly_rate:
        found.append(
            RuleViolation(
                "financial.monthly_interest_rate",
                ptbr.rate_above_cap(monthly_rate, rules.max_monthly_rate),
                MAX_MONTHLY_RATE.source,
            )
        )
    return found
