"""What the lender's sales channel is told about a loan, and when (pure: the loan decides, the outbox
and the notifier deliver; ``webhooks.outbound``).

The sales channel (app, call center, correspondents) is told every stage change that matters to a
borrower — where the borrower or the sales channel must act, and by when, or where the loan visibly
moves on — and every ending, as a :class:`LoanEvent`: the loan's key, stage, status, the next action
and its deadline, a sequence number per loan. Never the borrower's data (no CPF, name, account, link):
what the sales channel needs beyond that it reads from the loan's ``state`` query.

Stages the lender works through alone (an operator's correction, reduction or reapresentação, a
balance re-check) and the quick steps before the signature are not told: the borrower's picture does
not change there, and an averbação that goes to a correction and back is still the averbação.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.calendar import end_of_day
from domain.redaction import redact_provider_text
from workflows.loan.loan_events import Action, Actor, EventType, LoanEvent, NextAction
from workflows.loan.stages import Stage
from workflows.loan.state import LoanState

MAX_REASON = 300

BORROWER_STAGES: frozenset[Stage] = frozenset(
    {
        Stage.AWAITING_DOCUMENTS,
        Stage.AWAITING_SIGNATURE,
        Stage.SIGNATURE_VALIDATION,
        Stage.MARGIN_RELEASE,
        Stage.AVERBACAO,
        Stage.AWAITING_BENEFICIARY_CONFIRMATION,
        Stage.DISBURSEMENT,
        # a portability: the consent in Meu INSS, the origin bank's answer (it may call the borrower to
        # retain the loan), the troco's averbação and payment
        Stage.CONSENT,
        Stage.ORIGIN_BANK,
        Stage.TROCO,
    }
)
"""The stages a borrower sees; every other stage leaves the last event standing."""


def _uses_provider_link(state: LoanState) -> bool:
    # A polled provider's borrower formalizes at the operation's link_form (workflows.loan.polled):
    # those loans follow the provider's status words.
    return state.provider_status is not None or state.formalization_link is not None


def next_action(state: LoanState) -> NextAction | None:
    """Who must do what, by when, for the loan to move on (None: the loan moves on without them)."""
    window = state.disbursement_window_end
    stage = state.stage
    if stage == Stage.AWAITING_SIGNATURE:
        action = Action.FORMALIZE_AT_PROVIDER if _uses_provider_link(state) else Action.SIGN
        return NextAction(action=action, by=Actor.BORROWER, deadline=window)
    if stage == Stage.AWAITING_DOCUMENTS:
        return NextAction(action=Action.PROVIDE_DOCUMENTS, by=Actor.SALES_CHANNEL, deadline=window)
    if stage == Stage.AWAITING_BENEFICIARY_CONFIRMATION:
        return NextAction(action=Action.CONFIRM_IN_MEU_INSS, by=Actor.BORROWER, deadline=state.confirmation_deadline)
    if stage == Stage.CONSENT:
        day = state.portability.consent_deadline if state.portability else None
        deadline = end_of_day(day) if day else None
        return NextAction(action=Action.CONFIRM_IN_MEU_INSS, by=Actor.BORROWER, deadline=deadline)
    return None


def news(state: LoanState, *, sequence: int, now: datetime) -> LoanEvent | None:
    """What the sales channel would be told of the loan now (None: a stage it is not told)."""
    common: dict[str, Any] = {"request_key": state.request_key, "sequence": sequence, "occurred_at": now}
    common["product"] = state.product
    if state.closed:
        reason = redact_provider_text(state.outcome_reason)[:MAX_REASON] if state.outcome_reason else None
        rules = tuple(failure.rule for failure in state.rejection)
        return LoanEvent(
            type=EventType.ENDED, stage=Stage.CLOSED, status=state.status, reason=reason, rejected_rules=rules, **common
        )
    if state.stage not in BORROWER_STAGES:
        return None
    resumes_at = state.margin_release_at if state.stage == Stage.MARGIN_RELEASE else None
    return LoanEvent(
        type=EventType.STAGE_CHANGED,
        stage=state.stage,
        status=state.status,
        next_action=next_action(state),
        resumes_at=resumes_at,
        **common,
    )


def event_due(state: LoanState, told: LoanEvent | None, *, now: datetime) -> LoanEvent | None:
    """The next event, when the loan has news for the sales channel since ``told`` (the last event it
    decided); None otherwise. After the ending nothing more is due."""
    if told is not None and told.type == EventType.ENDED:
        return None
    event = news(state, sequence=told.sequence + 1 if told else 1, now=now)
    if event is None or event.same_news(told):
        return None
    return event
