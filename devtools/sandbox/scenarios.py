"""What the sandbox answers by the CPF's first digit, and the per-CPF overrides tests and sample loans
use to reach the other paths.

The benefit data (balance/margin) follows the provider's Mocks (Sandbox) page
(https://docs.qitech.com.br/documentation/guides/INSS/mocks-sandbox), so the same CPFs behave the same
against the provider's own sandbox. What that page does not cover stays as the older manual had it
(seeds 001/004 "Simulando cenários ... em Sandbox"), or is ours — each marked where it is defined.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from devtools.sandbox import dataprev
from devtools.sandbox.enumerators import PendingRequesterAction

SUCCESS = "success"


@dataclass(frozen=True)
class ConsultationOutcome:
    success: bool
    enumerator: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class MockedBalance:
    """One first digit of the Mocks page: its ``margemDisponivel`` (``consigned_credit.balance``) and its
    card (RCC, ``benefit_card.balance``) margin, when the page names one."""

    loans_margin: Decimal
    rcc_margin: Decimal | None = None  # None: the page says nothing of it, so the full card margin (ours)


# The Mocks page's "Cenários por primeiro dígito": 1 full margin, eligible, no blocks; 3 card/RCC margin
# reduced (R$ 75,90); 4 the same as 1; 8 card/RCC margin zero — margemDisponivel 431.3 each.
MOCKS_PAGE_MARGIN = Decimal("431.30")
BALANCE_BY_FIRST_DIGIT = {
    "1": MockedBalance(MOCKS_PAGE_MARGIN),
    "3": MockedBalance(MOCKS_PAGE_MARGIN, Decimal("75.90")),
    "4": MockedBalance(MOCKS_PAGE_MARGIN),
    "8": MockedBalance(MOCKS_PAGE_MARGIN, Decimal("0.00")),
}
# 2: Dataprev's D1 ("dados do benefício incompletos/inconsistentes/nulos"), the enumerator the manuals
# give D1 (seed 004 §12).
DATAPREV_D1 = ConsultationOutcome(
    False, "inconsistent_balance_benefit_data", "D1: dados do benefício incompletos, inconsistentes ou nulos"
)
# 0, 5, 6, 7, 9 (no exact match): the page's fixed QIE error (an HTTP 412 from Dataprev's mock). How it
# reaches the lender is not shown: ours, the balance request's failure webhook with the older manual's
# enumerator for the same case (mock_error) and the page's message.
QIE = ConsultationOutcome(False, "mock_error", "QIE: CPF divergente da massa de teste informada na documentação.")
CARD_MARGIN = Decimal("272.22")  # ours: a full RMC or RCC margin, 5 % of the sandbox's R$ 5.444,44 benefit


def balance_outcome(cpf: str) -> ConsultationOutcome:
    """The balance (benefit data) request, as the Mocks page answers it. The page's 42 exact-match CPFs
    are not readable: every CPF goes by its first digit."""
    if cpf[:1] in BALANCE_BY_FIRST_DIGIT:
        return ConsultationOutcome(True)
    return DATAPREV_D1 if cpf[:1] == "2" else QIE


# The benefits list is not on the Mocks page: it succeeds for the digits the page knows (ours) and
# answers mock_error for the others, as the older manual did (seed 004).
BENEFITS_FAILURE = ConsultationOutcome(
    False, "mock_error", "Informed document number is not a valid mock on test environment"
)


def benefits_outcome(cpf: str) -> ConsultationOutcome:
    known = cpf[:1] in BALANCE_BY_FIRST_DIGIT or cpf[:1] == "2"
    return ConsultationOutcome(True) if known else BENEFITS_FAILURE


def mocked_balance(cpf: str) -> MockedBalance:
    """The margins of a CPF whose benefit data is answered (a CPF forced to succeed: digit 1's)."""
    return BALANCE_BY_FIRST_DIGIT.get(cpf[:1], BALANCE_BY_FIRST_DIGIT["1"])


# Averbação is not on the Mocks page either. The older manual (seed 004 §11): 1 succeeds; 2 and 3 fail
# with a "cancel" action (the operation then ends); others mock_error. Ours: 4 and 8, full loans margin
# on the page, succeed as 1 does.
AVERBACAO_BY_FIRST_DIGIT = {
    "1": SUCCESS,
    "2": "invalid_disbursement_account",
    "3": "operation_not_allowed_IR",
    "4": SUCCESS,
    "8": SUCCESS,
}
AVERBACAO_DEFAULT = "mock_error"


def averbacao_outcome(cpf: str) -> str:
    return AVERBACAO_BY_FIRST_DIGIT.get(cpf[:1], AVERBACAO_DEFAULT)


def averbacao_description(enumerator: str) -> str:
    described = dataprev.description(enumerator)
    if described:
        return described
    if enumerator == AVERBACAO_DEFAULT:
        return BENEFITS_FAILURE.description or ""
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
PENDING_WEBHOOK_TYPES = {action.value: action.webhook_type for action in PendingRequesterAction}
