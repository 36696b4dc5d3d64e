"""What a provider tells a loan, in the loan's own words: the port's inbound half.

Each adapter translates its provider's webhooks and answers into ``ProviderNews`` at its edge (the
first provider's in ``activities.qitech.news``, called by the relay and by the lookups); the loan's
facts reducer (``workflows.loan.facts``) reads only these. A status word the loan does not act on
travels as text, for operators; the values the loan decides by are this module's enums.

Loans recorded before this vocabulary received the first provider's webhooks themselves. Their
histories still replay: a payload in that older shape is read by the adapter the worker registers
(``read_earlier_news_with``), so workflow code never imports a provider's wire.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from domain.benefit import BenefitFacts


class DebtPhase(StrEnum):
    """Where the provider says a debt is, as far as the loan acts on it."""

    SIGNATURE_ACCEPTED = "signature_accepted"
    DISBURSED = "disbursed"
    PAYMENT_REFUSED = "payment_refused"  # a TED/Pix refused by the borrower's bank: reapresentação
    CANCELED = "canceled"
    CANCELED_PERMANENTLY = "canceled_permanently"
    OTHER = "other"  # a status the loan only notes


class CancelCause(StrEnum):
    """Why the provider canceled, where the loan reads more than the provider's word."""

    BY_HAND = "by_hand"  # the provider's "manual" reason, which is also the window running out
    CONFIRMATION_DENIED = "confirmation_denied"  # anuência: the beneficiary refused in Meu INSS
    CONFIRMATION_EXPIRED = "confirmation_expired"  # anuência: not confirmed within its deadline
    OTHER = "other"


class ProposalStatus(StrEnum):
    """A portability proposal's status (the provider's status machine, in the order the loan reads it)."""

    PENDING_SUBMISSION = "pending_submission"
    PENDING_RESPONSE = "pending_response"
    REJECTED = "rejected"
    PENDING_ACCEPTANCE = "pending_acceptance"
    ACCEPTED = "accepted"
    RETAINED = "retained"
    CANCELED = "canceled"
    SETTLEMENT_SENT = "settlement_sent"
    PENDING_SETTLEMENT_CONFIRMATION = "pending_settlement_confirmation"
    PAID = "paid"


class ConsentStatus(StrEnum):
    """The beneficiary's consent to a portability, at Dataprev (Meu INSS): being registered, waiting for
    the beneficiary, then decided (confirmed, expired, denied)."""

    PENDING_INCLUSION = "pending_inclusion"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    DENIED = "denied"


class Leg(StrEnum):
    PORTABILITY = "portability"
    REFINANCING = "refinancing"


class LegStatus(StrEnum):
    WAITING_SIGNATURE = "waiting_signature"
    SIGNED = "signed"
    DISBURSED = "disbursed"
    CANCELED = "canceled"


# ------------------------------------------------------------------ the facts a piece of news carries


class BenefitsListed(BaseModel):
    kind: Literal["benefits_listed"] = "benefits_listed"
    benefits: list[str]


class BalanceReceived(BaseModel):
    kind: Literal["balance_received"] = "balance_received"
    balance: BenefitFacts


class ConsultationFailed(BaseModel):
    kind: Literal["consultation_failed"] = "consultation_failed"
    consultation: Literal["benefits", "balance"]
    reason: str


class ConsultationPending(BaseModel):
    kind: Literal["consultation_pending"] = "consultation_pending"
    consultation: Literal["benefits", "balance"]


class DebtMoved(BaseModel):
    kind: Literal["debt"] = "debt"
    phase: DebtPhase
    reason: str | None = None  # the provider's reason, as it said it (for operators)
    cause: CancelCause | None = None
    refusal: str | None = None  # why the borrower's bank refused the payment


class ConfirmationPending(BaseModel):
    """Anuência: the averbação succeeded and waits for the beneficiary to confirm it in Meu INSS."""

    kind: Literal["confirmation_pending"] = "confirmation_pending"
    deadline: datetime | None = None


class _DataprevAnswer(BaseModel):
    """What Dataprev answers to an averbação, a new credit's or a portability leg's (``kind`` first:
    each kind names itself)."""

    kind: str
    constituted: bool = False
    successes: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


class DataprevAnswered(_DataprevAnswer):
    """The averbação's answer from Dataprev (Dataprev's own enumerators: ``domain.inss``)."""

    kind: Literal["dataprev"] = "dataprev"


class LenderActionNeeded(BaseModel):
    """The averbação waits for the lender (a new balance consultation, a smaller installment)."""

    kind: Literal["lender_action"] = "lender_action"
    action: str
    reservation_amount: Decimal | None = None


class ProposalMoved(BaseModel):
    kind: Literal["proposal"] = "proposal"
    status: str  # a ProposalStatus, or a word the loan does not know (kept, never fatal)
    portability_number: str | None = None
    rejection: str | None = None  # the CTC's code and reason
    final_due_balance: Decimal | None = None
    retention: str | None = None


class ConsentMoved(BaseModel):
    kind: Literal["consent"] = "consent"
    status: str  # a ConsentStatus, or a word the loan does not know
    deadline: date | None = None


class LegMoved(BaseModel):
    kind: Literal["leg"] = "leg"
    leg: str  # a Leg
    status: str  # a LegStatus


class PortabilityDataprevAnswered(_DataprevAnswer):
    """The portability leg's averbação answer (Port+Refin's table decides what it means)."""

    kind: Literal["portability_dataprev"] = "portability_dataprev"


class OriginContractAnswered(BaseModel):
    """What Dataprev says the origin bank released (seed 002 §12), or why it could not say."""

    kind: Literal["origin_contract"] = "origin_contract"
    released_installment: Decimal | None = None
    failure: str | None = None


class NothingToAct(BaseModel):
    """News of a kind the loan does not act on (recorded for operators)."""

    kind: Literal["nothing"] = "nothing"


Fact = Annotated[
    BenefitsListed
    | BalanceReceived
    | ConsultationFailed
    | ConsultationPending
    | DebtMoved
    | DataprevAnswered
    | ConfirmationPending
    | LenderActionNeeded
    | ProposalMoved
    | ConsentMoved
    | LegMoved
    | PortabilityDataprevAnswered
    | OriginContractAnswered
    | NothingToAct,
    Field(discriminator="kind"),
]

EarlierNewsReader = Callable[[dict[str, Any]], dict[str, Any]]
_EARLIER_NEWS: list[EarlierNewsReader] = []


def read_earlier_news_with(reader: EarlierNewsReader) -> None:
    """The adapter that reads news in its provider's older shape (registered by the worker)."""
    _EARLIER_NEWS[:] = [reader]


class ProviderNews(BaseModel):
    """One thing a provider told the loan: its identity (applied once), the provider key it is about,
    when it happened, what the provider called it (for operators' records) and the fact it carries."""

    event_id: str
    key: str
    received_at: AwareDatetime
    occurred_at: datetime | None = None
    source: str  # the provider's name for it (its webhook type)
    status: str | None = None  # the provider's own status word, for the record
    fact: Fact
    unknown: list[str] = Field(default_factory=list)  # values no table of the provider's knows

    @model_validator(mode="before")
    @classmethod
    def _earlier_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and "webhook" in data and "fact" not in data:
            if not _EARLIER_NEWS:
                raise ValueError("news in a provider's own shape, and no adapter registered to read it")
            return _EARLIER_NEWS[0](data)
        return data
