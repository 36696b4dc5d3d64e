"""The order news comes in: the relay delivers at least once, in any order (webhooks are published as
possibly out of order), so a redelivery is recognised by its identity, and a portability's proposal
or consent status that arrives late must not move the loan's facts back. Pure; read by the facts
reducer, the portability journey and the previous version's mailbox."""

from __future__ import annotations

from workflows.loan.news import ConsentStatus, ProposalStatus

# The proposal's statuses in the order the flow reaches them (maquinas-de-status): news that arrives
# after a later one is late (the relay delivers at least once, in any order).
PROPOSAL_PROGRESS = {
    ProposalStatus.PENDING_SUBMISSION.value: 0,
    ProposalStatus.PENDING_RESPONSE.value: 1,
    ProposalStatus.REJECTED.value: 2,
    ProposalStatus.PENDING_ACCEPTANCE.value: 2,
    ProposalStatus.ACCEPTED.value: 3,
    ProposalStatus.RETAINED.value: 3,
    ProposalStatus.SETTLEMENT_SENT.value: 4,
    ProposalStatus.PENDING_SETTLEMENT_CONFIRMATION.value: 5,
    ProposalStatus.PAID.value: 6,
}
FINAL_PROPOSAL_STATUSES = frozenset(
    s.value for s in (ProposalStatus.REJECTED, ProposalStatus.RETAINED, ProposalStatus.CANCELED, ProposalStatus.PAID)
)
"""After these the proposal changes no more (paid: the legs' averbação may still be under way)."""
CONSENT_DECIDED = frozenset(s.value for s in (ConsentStatus.CONFIRMED, ConsentStatus.EXPIRED, ConsentStatus.DENIED))
# The consent's statuses in the order the authorization goes through them (webhook-autorizacao-de-
# portabilidade): registered at Dataprev, then waiting for the beneficiary, then decided.
CONSENT_PROGRESS = {
    ConsentStatus.PENDING_INCLUSION.value: 0,
    ConsentStatus.AWAITING_CONFIRMATION.value: 1,
    **dict.fromkeys(CONSENT_DECIDED, 2),
}


def late_consent_status(current: str | None, new: str) -> bool:
    """A decided consent stays decided, and a known status never moves it back (a late
    ``pending_inclusion`` would hide the deadline's ``awaiting_confirmation``). A word the loan does
    not know is kept (and flagged by the adapter), never taken for a decision."""
    if current is None or current == new or new not in CONSENT_PROGRESS:
        return False
    return current in CONSENT_DECIDED or (
        current in CONSENT_PROGRESS and CONSENT_PROGRESS[new] < CONSENT_PROGRESS[current]
    )


def late_proposal_status(current: str | None, new: str) -> bool:
    """A final status is never left, and a known status never moves the proposal back (else a late
    ``pending_acceptance`` would hide the origin bank's ``accepted`` the workflow waits for)."""
    if current is None or current == new:
        return False
    if current in FINAL_PROPOSAL_STATUSES:
        return True
    return (
        new in PROPOSAL_PROGRESS
        and current in PROPOSAL_PROGRESS
        and PROPOSAL_PROGRESS[new] < PROPOSAL_PROGRESS[current]
    )


def first_sight(seen: list[str], event_id: str, *, remembered: int) -> bool:
    """Whether ``event_id`` is news: then it is remembered in ``seen``, the oldest forgotten past
    ``remembered`` (a redelivery comes soon after the first, never hundreds of events later)."""
    if event_id in seen:
        return False
    seen.append(event_id)
    del seen[:-remembered]
    return True
