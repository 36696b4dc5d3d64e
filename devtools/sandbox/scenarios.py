"""What the sandbox answers, by the CPF's first digit (seeds 001/004, "Simulando cenários ... em Sandbox"),
and the per-CPF overrides tests and sample loans use to reach the other paths."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from activities.qitech.enumerators import ConsultationError, PendingRequesterAction
from domain.inss import averbacao_return

SUCCESS = "success"


@dataclass(frozen=True)
class ConsultationOutcome:
    """Benefits and balance requests: 1 succeeds, 2 inexistent_beneficiary, others mock_error."""

    success: bool
    enumerator: str | None = None
    description: str | None = None


CONSULTATION_BY_FIRST_DIGIT = {
    "1": ConsultationOutcome(True),
    "2": ConsultationOutcome(False, ConsultationError.INEXISTENT_BENEFICIARY.value, "no beneficiary found"),
}
CONSULTATION_DEFAULT = ConsultationOutcome(
    False, ConsultationError.MOCK_ERROR.value, "Informed document number is not a valid mock on test environment"
)

# Averbação: 1 succeeds; 2 and 3 fail with a "cancel" action (the operation then ends); others mock_error.
AVERBACAO_BY_FIRST_DIGIT = {"1": SUCCESS, "2": "invalid_disbursement_account", "3": "operation_not_allowed_IR"}
AVERBACAO_DEFAULT = "mock_error"


def consultation_outcome(cpf: str) -> ConsultationOutcome:
    return CONSULTATION_BY_FIRST_DIGIT.get(cpf[:1], CONSULTATION_DEFAULT)


def averbacao_outcome(cpf: str) -> str:
    return AVERBACAO_BY_FIRST_DIGIT.get(cpf[:1], AVERBACAO_DEFAULT)


def averbacao_description(enumerator: str) -> str:
    row = averbacao_return(enumerator)
    if row:
        return row.description
    if enumerator == AVERBACAO_DEFAULT:
        return CONSULTATION_DEFAULT.description or ""
    return enumerator


def benefit_number_for(cpf: str) -> str:
    """The benefit the sandbox lists for a CPF (stable, 10 digits), unless a scenario says otherwise."""
    return str(int(hashlib.sha256(f"nb:{cpf}".encode()).hexdigest(), 16) % 9_000_000_000 + 1_000_000_000)


class Faults(BaseModel):
    """Misbehaviour to inject, per request (header ``X-Sandbox-Faults``, JSON), per CPF, or for everyone."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=120_000)] = 0
    fail_5xx: Annotated[int, Field(ge=0)] = 0  # the next N calls answer 503
    suspended: Annotated[int, Field(ge=0)] = 0  # the next N calls answer "AM 303001 ... SUSPENDED"
    timeout_s: Annotated[float, Field(ge=0, le=600)] = 0  # hold the answer this long
    duplicate_webhooks: bool = False  # deliver every webhook twice
    out_of_order_webhooks: bool = False  # deliver the webhooks of one action newest first
    webhook_before_response: bool = False  # deliver the webhook a call causes before answering it
    webhook_delivery_failures: Annotated[int, Field(ge=0)] = 0  # the first N attempts of each webhook fail
    # The next N calls are applied and their answer lost (a 504 after the work): a retry must find
    # the work done, not report it refused.
    lose_answers: Annotated[int, Field(ge=0)] = 0

    def merged(self, other: Faults | None) -> Faults:
        """Field-wise: the other's non-default values win."""
        if other is None:
            return self
        values = self.model_dump()
        values.update({k: v for k, v in other.model_dump().items() if v != Faults.model_fields[k].default})
        return Faults.model_validate(values)


AverbacaoStep = Annotated[str, Field(min_length=1)]


class ExistingOperation(BaseModel):
    """A loan the CPF already has at the provider (what a refinancing pays off)."""

    model_config = ConfigDict(extra="forbid")

    key: str
    installment: Decimal
    balance: Decimal


class Scenario(BaseModel):
    """Per-CPF overrides. Unset fields keep the manuals' first-digit behaviour."""

    model_config = ConfigDict(extra="forbid")

    consultation: Literal["success"] | str | None = None  # an enumerator forces that failure
    # Each averbação attempt takes the next step: "success", an averbação enumerator (e.g.
    # "consignable_margin_excceded" keeps teimosinha going), or "pending:<enumerator>" for the
    # pending_requester_action family. The last step repeats.
    averbacao: list[AverbacaoStep] | None = None
    # Each disbursement takes the next step: "success", "ted_refusal" or "pix_refusal".
    disbursement: list[Literal["success", "ted_refusal", "pix_refusal"]] | None = None
    benefit_number: str | None = None
    ddb: date | None = None  # the benefit's DDB (grant_date); default two years ago
    available_total_balance: Decimal | None = None  # left over every modality (cards included)
    loans_margin: Decimal | None = None  # consigned_credit.balance; default: the total minus the cards' 10 %
    # The CPF's operations at the provider (a refinancing must name some): key, installment, balance.
    operations: list[ExistingOperation] = Field(default_factory=list)
    # The benefit's paying account (balance disbursement_bank_account); default derived from the CPF.
    paying_account: dict[str, str] | None = None
    benefit_status: str | None = None
    block_type: str | None = None
    benefit_situation: str | None = None
    has_entity_representation: bool | None = None
    benefit_end_date: date | None = None
    assistance_type: str | None = None
    faults: Faults | None = None
    cancel_grace_seconds: float | None = None  # this CPF's grace for a correction (default: the setting)
    # Plays the 90 days passing for this benefit: its concession block lifts after N averbação attempts.
    block_lifts_after_attempts: int | None = None
    # Anuência (docs.qitech.com.br/documentation/guides/INSS/pending_confirmation): after a successful
    # averbação the reservation waits for the beneficiary in Meu INSS; the provider says so (and again,
    # as it keeps asking Dataprev) until the beneficiary confirms, refuses, or the 5 days run out. Since
    # 2026-05-19 this is every new credit's and refinancing's path; the sandbox plays it for the CPFs
    # whose scenario asks, so the earlier scenarios keep their shape (ours, README).
    anuencia: Literal["confirmed", "denied", "expired"] | None = None
    anuencia_notices: Annotated[int, Field(ge=1, le=10)] = 2
    # Seconds between those notices (the provider asks Dataprev every 3 hours, the page says),
    # compressed; unset: the sandbox's processing delay. Ours: lets a test see the loan waiting.
    anuencia_every_seconds: Annotated[float, Field(gt=0, le=600)] | None = None


PENDING_PREFIX = "pending:"
PENDING_WEBHOOK_TYPES = {
    PendingRequesterAction.MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY.value: (
        "social_security_margin_exceeded_for_new_beneficiary"
    ),
    PendingRequesterAction.MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE.value: (
        "social_security_margin_exceeded_for_minimum_wage_increase"
    ),
    PendingRequesterAction.SUCCESS_BALANCE_REQUEST_NOT_FOUND.value: "social_security_success_balance_request_not_found",
}
