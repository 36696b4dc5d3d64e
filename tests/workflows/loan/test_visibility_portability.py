"""What an operator reads of a portability in the Web UI's current details (loan.visibility.describe):
the consent's deadline, each leg's last Dataprev answer, the reduction's figures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from domain.calendar import SAO_PAULO
from domain.loan import Product
from workflows.loan.state import DataprevAnswer, LoanState, PortabilityFacts, Stage
from workflows.loan.visibility import describe


def _state(stage: Stage, **facts: object) -> LoanState:
    return LoanState(
        request_key="port-1",
        product=Product.PORTABILITY,
        stage=stage,
        portability=PortabilityFacts.model_validate({"proposal_key": "p-1", **facts}),
    )


def test_the_consent_says_until_when_the_beneficiary_can_confirm() -> None:
    state = _state(Stage.CONSENT, consent_deadline=date(2026, 12, 9))
    assert describe(state).startswith("**consent**: waiting for the beneficiary's consent in Meu INSS until 09/12/2026")


def test_the_portability_legs_last_answer_is_shown_while_the_provider_retries() -> None:
    state = _state(Stage.AVERBACAO, last_portability_answer="operation_not_allowed_IR")
    assert "portability leg: teimosinha, last answer operation_not_allowed_IR" in describe(state)


def test_the_refinancing_legs_last_answer_is_shown_during_the_troco() -> None:
    state = _state(Stage.TROCO)
    assert "refinancing leg" not in describe(state)  # nothing heard yet
    state.last_dataprev = DataprevAnswer(
        enumerator="invalid_disbursement_account",
        code="AN",
        action="retry",
        at=datetime(2026, 12, 3, 10, 15, tzinfo=SAO_PAULO),
    )
    assert "refinancing leg: last answer invalid_disbursement_account at 03/12/2026 10:15 -03" in describe(state)


def test_the_reduction_shows_what_the_origin_bank_released_and_what_would_fit() -> None:
    state = _state(
        Stage.AWAITING_INSTALLMENT_REDUCTION,
        installment=Decimal("171.23"),
        released_installment=Decimal("100.00"),
        reduction_offer=Decimal("110.00"),
    )
    assert "installment R$ 171,23 — the origin bank released R$ 100,00 — R$ 110,00 would fit" in describe(state)


def test_a_consent_being_registered_says_so() -> None:
    state = _state(Stage.CONSENT, consent_status="pending_inclusion")
    assert "the consent is being registered at Dataprev" in describe(state)


def test_status_words_no_table_knows_are_shown_and_waited_through() -> None:
    state = _state(Stage.CONSENT, proposal_status="pending_acceptance", consent_status="under_review")
    state.unknown_values = ["credit_transfer.portability_authorization portability_authorization_status='under_review'"]
    details = describe(state)
    assert "unknown consent 'under_review': still waiting" in details
    assert "1 value no table knows, flagged" in details
    assert "unknown proposal" not in details  # pending_acceptance is one the loan knows
