"""Debt simulation (seed 004 §3; batch form seed 001 §3): requests, and the schedule the provider returns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AliasChoices, Field, model_validator

from activities.qitech.enumerators import AmountType, FeeType, InterestBase
from activities.tolerant import InboundModel, LenientDate, LenientDatetime, OutboundModel, Unknown, open_enum_validator
from domain.fields import Money, PositiveMoney, Rate
from domain.modeling import exactly

MAX_INSTALLMENTS_ACCEPTED = 420
"""What the wire format can carry; the INSS limit (96) is a product rule, checked in domain.regulation."""


# ---------------------------------------------------------------- outbound


class FineConfiguration(OutboundModel):
    monthly_rate: Rate
    interest_base: InterestBase = InterestBase.CALENDAR_DAYS
    contract_fine_rate: Rate


class Financial(OutboundModel):
    """The ``financial`` object of a simulation or issuance.

    ``first_due_date`` may precede the disbursement: the provider moves it forward by whole months
    (seed 004 §4 asks for 2023-09-20 on a 2024-11-07 disbursement and gets 2025-01-20).

    Modes (seed 001 §3 info box, seed 004 §3): installment value + rate (the disbursed amount
    varies), disbursed amount + rate (the installment varies), or installment value + disbursed
    amount (the rate is solved per disbursement option).
    """

    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=60)]
    number_of_installments: Annotated[int, Field(ge=1, le=MAX_INSTALLMENTS_ACCEPTED)]
    installment_face_value: PositiveMoney | None = None
    disbursed_amount: PositiveMoney | None = None
    monthly_interest_rate: Rate | None = None
    interest_type: Literal["pre_price_days"] = "pre_price_days"
    fine_configuration: FineConfiguration
    credit_operation_type: Literal["ccb"] = "ccb"
    interest_grace_period: Literal[0] = 0
    principal_grace_period: Literal[0] = 0

    @model_validator(mode="after")
    def _one_mode(self) -> Financial:
        names = ("installment_face_value", "disbursed_amount", "monthly_interest_rate")
        exactly(2, self, names, then="; the third is what the provider computes")
        return self


class SimulationBorrower(OutboundModel):
    person_type: Literal["natural"] = "natural"


class SimulationCollateral(OutboundModel):
    collateral_type: Literal["social_security"] = "social_security"


class RefinancedOperation(OutboundModel):
    operation_key: UUID


class DebtSimulationRequest(OutboundModel):
    """``POST /debt_simulation`` for one operation (new credit, or refinancing with the keys refinanced)."""

    borrower: SimulationBorrower = Field(default_factory=SimulationBorrower)
    financial: Financial
    collaterals: Annotated[list[SimulationCollateral], Field(min_length=1, max_length=1)] = Field(
        default_factory=lambda: [SimulationCollateral()]
    )
    refinanced_credit_operations: Annotated[list[RefinancedOperation], Field(min_length=1)] | None = None


class DebtSimulationBatchRequest(OutboundModel):
    """``POST /debt_simulation`` with several operations at once (seed 001 §3)."""

    complex_operation: Literal[True] = True
    operation_batch: Annotated[list[DebtSimulationRequest], Field(min_length=1)]


# ---------------------------------------------------------------- inbound


def percent_text_to_fraction(value: Any) -> Decimal | None:
    """The issuance response prints CET as Brazilian percent text ("2,0100%"); simulations as numbers."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return Decimal(str(value))
    text = str(value).strip()
    if not text.endswith("%"):
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    number = text[:-1].strip()
    if "," in number:
        number = number.replace(".", "").replace(",", ".")
    try:
        return Decimal(number) / 100
    except InvalidOperation:
        return None


PercentText = Annotated[str, Field(pattern=r"%\s*$")]
"""A rate printed as text with a percent sign ("2,0100%", "26.1457%")."""


class PrefixedInterestRate(InboundModel):
    interest_base: Annotated[InterestBase | Unknown, open_enum_validator(InterestBase)] | None = None
    monthly_rate: Decimal | None = None
    annual_rate: Decimal | None = None
    daily_rate: Decimal | None = None


class ContractFee(InboundModel):
    fee_type: Annotated[FeeType | Unknown, open_enum_validator(FeeType)]
    amount_type: Annotated[AmountType | Unknown, open_enum_validator(AmountType)] | None = None
    amount: Decimal | None = None
    fee_amount: Decimal | None = None


class Installment(InboundModel):
    installment_number: int
    due_date: LenientDate | None = None
    business_due_date: LenientDate | None = None
    calendar_days: int | None = None
    workdays: Decimal | None = None
    due_principal: Decimal | None = None
    pre_fixed_amount: Decimal | None = None
    principal_amortization_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    total_amount: Decimal | None = None
    post_fixed_amount: Decimal | None = None
    has_interest: bool | None = None


class DisbursementOption(InboundModel):
    """One disbursement date with its full schedule (one per day of the window, seed 004 §3/§4)."""

    disbursement_date: LenientDate
    first_due_date: LenientDate | None = None
    issue_amount: Decimal | None = None
    disbursed_issue_amount: Decimal | None = None
    final_disbursement_amount: Decimal | None = None
    assignment_amount: Decimal | None = None
    iof_amount: Decimal | None = None
    total_iof: Decimal | None = None
    base_iof: Decimal | None = None
    additional_iof: Decimal | None = None
    total_pre_fixed_amount: Decimal | None = None
    contract_fee_amount: Decimal | None = None
    contract_fees: list[ContractFee] = Field(default_factory=list)
    external_contract_fee_amount: Decimal | None = None
    external_contract_fees: list[ContractFee] = Field(default_factory=list)
    net_external_contract_fee_amount: Decimal | None = None
    # Kept as sent: a number in simulations (0.0257), Brazilian percent text in issuance ("2,0100%").
    cet: Decimal | PercentText | None = None
    annual_cet: Decimal | PercentText | None = None
    installments: list[Installment] = Field(default_factory=list)
    prefixed_interest_rate: PrefixedInterestRate | None = None

    @property
    def monthly_cet(self) -> Decimal | None:
        return percent_text_to_fraction(self.cet)

    @property
    def annual_cet_rate(self) -> Decimal | None:
        return percent_text_to_fraction(self.annual_cet)

    @property
    def iof(self) -> Decimal | None:
        return self.total_iof if self.total_iof is not None else self.iof_amount

    @property
    def payoff(self) -> Decimal | None:
        """What the provider pays off out of this option (a refinancing's operations): what it
        disburses less what reaches the borrower; None when it pays off nothing or does not say."""
        if self.disbursed_issue_amount is None or self.final_disbursement_amount is None:
            return None
        paid = self.disbursed_issue_amount - self.final_disbursement_amount
        return paid if paid > 0 else None

    @property
    def released_amount(self) -> Decimal | None:
        """What reaches the borrower's account."""
        for value in (self.final_disbursement_amount, self.disbursed_issue_amount):
            if value is not None:
                return value
        return None

    @property
    def installment_value(self) -> Decimal | None:
        return self.installments[0].total_amount if self.installments else None


class RefinancedPayoff(InboundModel):
    """ASSUMED: a refinanced operation's payoff, as the answer may list it (no seed prints a
    refinancing's answer); read only when present."""

    operation_key: str
    payoff_amount: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("payoff_amount", "balance", "outstanding_balance")
    )


class SimulationData(InboundModel):
    credit_operation_type: str | None = None
    interest_type: str | None = None
    issue_date: LenientDate | None = None
    number_of_installments: int | None = None
    operation_type: str | None = None
    requester_key: str | None = None
    prefixed_interest_rate: PrefixedInterestRate | None = None
    disbursement_options: list[DisbursementOption] = Field(default_factory=list)
    refinanced_credit_operations: list[RefinancedPayoff] = Field(default_factory=list)


class SimulationResult(InboundModel):
    """The response of ``POST /debt_simulation`` for one operation."""

    type: str | None = None
    key: str | None = None
    status: str | None = None
    event_datetime: LenientDatetime | None = None
    data: SimulationData


class SimulationBatchResult(InboundModel):
    data: list[SimulationResult]


__all__ = [
    "ContractFee",
    "DebtSimulationBatchRequest",
    "DebtSimulationRequest",
    "DisbursementOption",
    "Financial",
    "FineConfiguration",
    "Installment",
    "Money",
    "PrefixedInterestRate",
    "RefinancedOperation",
    "SimulationBatchResult",
    "SimulationResult",
]
