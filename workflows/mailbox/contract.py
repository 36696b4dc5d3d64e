"""What the gateway, the loan's activities and the mailbox workflow agree on (names and messages)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

MAILBOX_WORKFLOW = "ProviderKeyMailbox"
WEBHOOK_SIGNAL = "webhook"
CLAIM_SIGNAL = "claim"
RELEASE_SIGNAL = "release"

MAILBOX_STATE = SearchAttributeKey.for_keyword("ProviderKeyMailboxState")
"""waiting_claim | forwarding | released | unclaimed_expired: operators find unclaimed webhooks by it."""


def mailbox_id(key: str) -> str:
    return f"provider-key-{key}"


class MailboxInput(BaseModel):
    key: str
    # How long a webhook nobody claims is kept (visible to operators) before the mailbox closes.
    unclaimed_retention: timedelta = timedelta(days=7)
    # After the loan releases the key, late duplicates are recorded (not forwarded) this long.
    late_retention: timedelta = timedelta(days=2)
    carried: MailboxState | None = None


class MailboxEvent(BaseModel):
    """A webhook as the previous version's gateway signalled it: the mailbox reads its identity and
    forwards the rest untouched (the loan reads it, through its provider's adapter)."""

    model_config = ConfigDict(extra="allow")

    event_id: str


class KeyClaim(BaseModel):
    loan_workflow_id: str


class KeyRelease(BaseModel):
    loan_workflow_id: str


class MailboxState(BaseModel):
    key: str
    claimed_by: str | None = None
    released: bool = False
    pending: list[MailboxEvent] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    forwarded: int = 0
    duplicates: int = 0
    late: list[MailboxEvent] = Field(default_factory=list)
    status: str = "waiting_claim"  # waiting_claim | forwarding | released | unclaimed_expired


MailboxInput.model_rebuild()
