"""What the sales channel is told, decided from the loan's state alone (workflows.loan.sales_channel):
hand-written states, hand-written expectations."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from domain.calendar import SAO_PAULO
from domain.loan import Product
from workflows.loan.loan_events import Action, Actor, EventType, LoanEvent, NextAction
from workflows.loan.sales_channel import BORROWER_STAGES, event_due
from workflows.loan.state import LoanState, PortabilityFacts, RuleFailure, Stage, Status

NOW = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
WINDOW_END = datetime(2026, 12, 10, 0, 0, tzinfo=SAO_PAULO)  # the disbursement window's end (a São Paulo midnight)
CPF, NAME, ACCOUNT = "12345678909", "Maria da Silva", "57555-0"


def loan(stage: Stage = Stage.CONSULTATION, **fields: object) -> LoanState:
    return LoanState(request_key="sale-2026-0001", product=Product.NEW_CREDIT, stage=stage, **fields)


def told_through(*states: LoanState) -> list[LoanEvent]:
    """The events a loan passing through these states tells, in order (as LoanRun.tell decides them)."""
    told: LoanEvent | None = None
    events: list[LoanEvent] = []
    for minute, state in enumerate(states):
        event = event_due(state, told, now=NOW + timedelta(minutes=minute))
        if event is not None:
            events.append(event)
            told = event
    return events


def test_the_quick_steps_before_the_signature_tell_nothing() -> None:
    for stage in (Stage.CONSULTATION, Stage.SIMULATION, Stage.ELIGIBILITY, Stage.ISSUANCE, Stage.DOCUMENTS):
        assert event_due(loan(stage), None, now=NOW) is None


def test_waiting_for_the_signature_names_the_action_and_the_window_as_its_deadline() -> None:
    event = event_due(loan(Stage.AWAITING_SIGNATURE, disbursement_window_end=WINDOW_END), None, now=NOW)
    assert event is not None
    assert event.type == EventType.STAGE_CHANGED and event.sequence == 1 and event.event_id == "sale-2026-0001:1"
    assert (event.stage, event.status) == (Stage.AWAITING_SIGNATURE, Status.IN_PROGRESS)
    assert event.next_action == NextAction(action=Action.SIGN, by=Actor.BORROWER, deadline=WINDOW_END)
    assert event.occurred_at == NOW


def test_a_polled_providers_borrower_formalizes_at_its_link() -> None:
    state = loan(
        Stage.AWAITING_SIGNATURE,
        provider="provider_b",
        provider_status="AGUARDANDO FORMALIZACAO",
        formalization_link="https://provider-b.example/form/abc",
    )
    event = event_due(state, None, now=NOW)
    assert event is not None and event.next_action is not None
    assert event.next_action.action == Action.FORMALIZE_AT_PROVIDER
    assert "provider-b.example" not in json.dumps(event.payload())  # the link is read from the state query


def test_anuencia_and_portability_consent_ask_the_borrower_to_confirm_in_meu_inss_by_their_deadline() -> None:
    confirmation_deadline = datetime(2026, 12, 5, 23, 59, tzinfo=SAO_PAULO)
    anuencia = event_due(
        loan(Stage.AWAITING_BENEFICIARY_CONFIRMATION, confirmation_deadline=confirmation_deadline), None, now=NOW
    )
    assert anuencia is not None
    assert anuencia.next_action == NextAction(
        action=Action.CONFIRM_IN_MEU_INSS, by=Actor.BORROWER, deadline=confirmation_deadline
    )
    consent = loan(
        Stage.CONSENT, portability=PortabilityFacts(proposal_key="proposal-1", consent_deadline=date(2026, 12, 7))
    )
    event = event_due(consent, None, now=NOW)
    assert event is not None and event.next_action is not None
    # The consent's last day is 7 December: the deadline is that day's end, São Paulo time.
    assert event.next_action.deadline == datetime(2026, 12, 8, 0, 0, tzinfo=SAO_PAULO)


def test_the_margin_release_says_when_the_loan_moves_on_by_itself() -> None:
    release = datetime(2027, 2, 20, 0, 0, tzinfo=SAO_PAULO)
    event = event_due(loan(Stage.MARGIN_RELEASE, margin_release_at=release), None, now=NOW)
    assert event is not None and event.next_action is None and event.resumes_at == release


def test_a_complete_loan_tells_each_borrower_stage_once_then_its_ending() -> None:
    signing = {"disbursement_window_end": WINDOW_END}
    events = told_through(
        loan(Stage.CONSULTATION),
        loan(Stage.ISSUANCE),
        loan(Stage.AWAITING_SIGNATURE, **signing),
        loan(Stage.AWAITING_SIGNATURE, **signing),  # published again while it waits: nothing new
        loan(Stage.SIGNATURE_VALIDATION, **signing),
        loan(Stage.AVERBACAO, **signing),
        loan(Stage.AWAITING_COLLATERAL_CORRECTION, **signing),  # the lender's own work: not told
        loan(Stage.AVERBACAO, **signing),  # back where the borrower saw it: nothing new
        loan(Stage.DISBURSEMENT, **signing),
        loan(Stage.AWAITING_REAPRESENTACAO, **signing),
        loan(Stage.DISBURSEMENT, **signing),
        loan(Stage.DISBURSEMENT, status=Status.COMPLETED, outcome_reason="disbursed"),
        loan(Stage.CLOSED, status=Status.COMPLETED, outcome_reason="disbursed"),  # the stage follows: no repeat
    )
    assert [(e.sequence, e.type, e.stage, e.status) for e in events] == [
        (1, EventType.STAGE_CHANGED, Stage.AWAITING_SIGNATURE, Status.IN_PROGRESS),
        (2, EventType.STAGE_CHANGED, Stage.SIGNATURE_VALIDATION, Status.IN_PROGRESS),
        (3, EventType.STAGE_CHANGED, Stage.AVERBACAO, Status.IN_PROGRESS),
        (4, EventType.STAGE_CHANGED, Stage.DISBURSEMENT, Status.IN_PROGRESS),
        (5, EventType.ENDED, Stage.CLOSED, Status.COMPLETED),
    ]
    assert events[-1].reason == "disbursed"


def test_a_new_deadline_in_the_same_stage_is_news() -> None:
    first = datetime(2026, 12, 5, 23, 59, tzinfo=SAO_PAULO)
    events = told_through(
        loan(Stage.AWAITING_BENEFICIARY_CONFIRMATION),
        loan(Stage.AWAITING_BENEFICIARY_CONFIRMATION, confirmation_deadline=first),
    )
    assert [e.next_action.deadline if e.next_action else None for e in events] == [None, first]


def test_nothing_is_told_after_the_ending() -> None:
    ended = event_due(loan(Stage.CLOSED, status=Status.CANCELED, outcome_reason="window expired"), None, now=NOW)
    assert ended is not None and ended.type == EventType.ENDED
    assert event_due(loan(Stage.AWAITING_SIGNATURE), ended, now=NOW) is None
    assert event_due(loan(Stage.CLOSED, status=Status.REJECTED, outcome_reason="other"), ended, now=NOW) is None


def test_a_rejection_names_its_rules_and_carries_no_personal_data() -> None:
    state = loan(
        Stage.ELIGIBILITY,
        status=Status.REJECTED,
        outcome_reason=f"provider refused issue_debt: LEG000041: borrower {NAME} (CPF {CPF}) account '{ACCOUNT}'",
        rejection=[RuleFailure(rule="max_age", message=f"{NAME} is 81", source="seed 004")],
    )
    event = event_due(state, None, now=NOW)
    assert event is not None
    assert event.rejected_rules == ("max_age",)
    body = json.dumps(event.payload())
    for personal in (CPF, ACCOUNT, "is 81"):
        assert personal not in body
    assert event.reason is not None and event.reason.startswith("provider refused issue_debt: LEG000041")


def test_the_payload_is_a_standard_webhook_body() -> None:
    event = event_due(loan(Stage.AWAITING_SIGNATURE, disbursement_window_end=WINDOW_END), None, now=NOW)
    assert event is not None
    assert event.payload() == {
        "type": "loan.stage_changed",
        "timestamp": "2026-12-02T14:30:00+00:00",
        "data": {
            "event_id": "sale-2026-0001:1",
            "request_key": "sale-2026-0001",
            "sequence": 1,
            "product": "new_credit",
            "stage": "awaiting_signature",
            "status": "in_progress",
            "next_action": {"action": "sign", "by": "borrower", "deadline": "2026-12-10T00:00:00-03:00"},
            "resumes_at": None,
            "reason": None,
            "rejected_rules": [],
        },
    }


def test_the_lenders_own_stages_are_not_the_borrowers() -> None:
    lender_only = {
        Stage.AWAITING_COLLATERAL_CORRECTION,
        Stage.AWAITING_INSTALLMENT_REDUCTION,
        Stage.AWAITING_REAPRESENTACAO,
        Stage.BALANCE_RECHECK,
    }
    assert not lender_only & BORROWER_STAGES
    assert Stage.CLOSED not in BORROWER_STAGES  # the ending is its own event
