"""The events a loan tells the lender's sales channel, as they travel: the loan decides them
(``workflows.loan.sales_channel``), carries what it told in its state (:class:`SalesChannelLog`), and
records them through a local activity into the outbox the relay's notifier delivers
(``webhooks.outbound``). Strict models: an outbound message carries these fields and no others, and
never the borrower's data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.loan import Product
from workflows.loan.stages import Stage, Status

RECORD_LOAN_EVENTS = "record_loan_events"
"""The local activity that puts due events in the outbox (``activities.sales_channel``)."""


class Action(StrEnum):
    """What must happen next for the loan to move on, outside the lender's back office."""

    SIGN = "sign"  # the borrower signs; the sales channel submits it (Update submit_signature)
    FORMALIZE_AT_PROVIDER = "formalize_at_provider"  # the borrower formalizes at the provider's link (state query)
    PROVIDE_DOCUMENTS = "provide_documents"  # the sales channel sends valid documents (Update provide_documents)
    CONFIRM_IN_MEU_INSS = "confirm_in_meu_inss"  # the beneficiary confirms in Meu INSS (anuência, portability)


class Actor(StrEnum):
    BORROWER = "borrower"
    SALES_CHANNEL = "sales_channel"


class EventType(StrEnum):
    STAGE_CHANGED = "loan.stage_changed"  # a borrower's stage, or its next action or deadline, changed
    ENDED = "loan.ended"  # completed, rejected, canceled or canceled permanently: the last event


class NextAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    by: Actor
    deadline: datetime | None = None  # after it the loan ends (São Paulo time, with its offset)


class LoanEvent(BaseModel):
    """One event for the sales channel. Strict (an outbound message): nothing but these fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: EventType
    request_key: str  # the caller's key: the loan is loan-<request_key>
    sequence: int = Field(ge=1)  # 1, 2, 3... per loan, in the order the loan decided them
    occurred_at: datetime  # the loan's (workflow) time when it decided the event
    product: Product
    stage: Stage  # ``closed`` on the ending
    status: Status
    next_action: NextAction | None = None
    resumes_at: datetime | None = None  # the margin release: the loan moves on by itself then
    reason: str | None = None  # an ending's reason (provider codes and rule names, never the borrower's data)
    rejected_rules: tuple[str, ...] = ()  # a rejection's rules, by name

    @property
    def event_id(self) -> str:
        """The idempotency key: the loan's key and the event's sequence (``<request_key>:<n>``). A
        receiver keeps the first of each and drops repeats (delivery is at least once)."""
        return f"{self.request_key}:{self.sequence}"

    def same_news(self, other: LoanEvent | None) -> bool:
        """The same thing to tell (only the sequence and the moment differ)."""
        ignored = {"sequence", "occurred_at"}
        return other is not None and self.model_dump(exclude=ignored) == other.model_dump(exclude=ignored)

    def payload(self) -> dict[str, Any]:
        """The webhook's body, in the Standard Webhooks shape: type, timestamp, data."""
        data = self.model_dump(mode="json", exclude={"type", "occurred_at"})
        data = {"event_id": self.event_id, **data}
        return {"type": self.type.value, "timestamp": self.occurred_at.isoformat(), "data": data}


class SalesChannelLog(BaseModel):
    """What a loan has told the sales channel (carried through continue-as-new in its state)."""

    told: LoanEvent | None = None  # the last event decided: the next one is due when the news differs
    # Decided, not yet in the outbox: recorded in order, all at once, again after a failure.
    unrecorded: list[LoanEvent] = Field(default_factory=list)
    record_failures: int = 0
    last_failure: str | None = None


class RecordEvents(BaseModel):
    """The local activity's input: a loan's unrecorded events, oldest first."""

    loan_id: str
    events: list[LoanEvent]
