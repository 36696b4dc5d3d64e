"""Averbação: teimosinha, cancel codes and corrections, pending requester actions, the DDB wait."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.loan import CollateralFix, InstallmentReduction
from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request, today
from tests.support.temporal import eventually
from workflows.loan.rules import LoanPolicy
from workflows.loan.state import LoanState, Stage, Status


async def _finish(loan: Any) -> Any:
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    return await loan.outcome()


async def test_teimosinha_keeps_waiting_with_the_last_answer_visible_then_succeeds(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    for enumerator in ("consignable_margin_excceded", "processing_payroll", "consignable_margin_excceded"):
        await loan.send(webhooks.collateral_error(loan.fake.debt_key, enumerator))
    state = await loan.state()
    assert state.stage == Stage.AVERBACAO
    assert state.averbacao_answers == 3
    assert state.last_dataprev is not None
    assert (state.last_dataprev.code, state.last_dataprev.enumerator, state.last_dataprev.action) == (
        "HW",
        "consignable_margin_excceded",
        "retry",
    )
    description = await loan.handle.describe()
    assert description.search_attributes.get("DataprevLastAnswer") == ["HW consignable_margin_excceded"]
    assert (await _finish(loan)).status == Status.COMPLETED


async def test_an_unknown_enumerator_is_flagged_and_treated_as_teimosinha(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, "mock_error"))
    state = await loan.state()
    assert state.stage == Stage.AVERBACAO and state.last_dataprev.action == "unknown"
    assert any("mock_error" in note for note in state.unknown_values)
    assert (await _finish(loan)).status == Status.COMPLETED


async def test_reservation_already_included_counts_as_success(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, "reservation_already_included"))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    assert (await loan.outcome()).status == Status.COMPLETED


@pytest.mark.parametrize("enumerator", ["invalid_disbursement_account", "operation_not_allowed_IR"])
async def test_a_cancel_code_waits_for_a_correction_and_the_correction_resumes(
    start: Any, tmp_path: Any, enumerator: str
) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, enumerator))
    state = await loan.at(Stage.AWAITING_COLLATERAL_CORRECTION)
    assert state.correction_deadline is not None
    # A correction that moves no money goes through at once; a new disbursement account waits for a
    # second operator (maker-checker: tests/workflows/loan/test_operator_identity.py).
    fix = CollateralFix.model_validate({"name": "Maria da Silva Santos", "note": "as Dataprev has it"})
    await loan.handle.execute_update("correct_collateral", fix)
    await loan.at(Stage.AVERBACAO)
    assert [c for c in loan.fake.names() if c == "correct_collateral"] == ["correct_collateral"]
    assert (await _finish(loan)).status == Status.COMPLETED


async def test_without_a_correction_the_grace_ends_the_loan_and_cancels_at_the_provider(
    start: Any, tmp_path: Any
) -> None:
    loan = await start(
        loan_request(documents=document_files(tmp_path)), policy=LoanPolicy(correction_grace=timedelta(hours=4))
    )
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, "invalid_disbursement_account"))
    outcome = await loan.outcome()
    assert outcome.status == Status.CANCELED
    assert "AN invalid_disbursement_account" in (outcome.reason or "")
    assert "cancel_permanently" in loan.fake.names()


async def test_the_providers_final_cancel_for_a_cancel_code_ends_the_loan(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, "operation_not_allowed_IR"))
    await loan.at(Stage.AWAITING_COLLATERAL_CORRECTION)
    await loan.send(webhooks.canceled(loan.fake.debt_key, "operation_not_allowed_IR"))
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.CANCELED, "operation_not_allowed_IR")
    assert "cancel_permanently" not in loan.fake.names()  # the provider already ended it


@pytest.mark.parametrize(
    "enumerator", ["margin_exceeded_for_new_beneficiary", "margin_exceeded_for_minimum_wage_increase"]
)
async def test_margin_exceeded_waits_for_an_operator_to_reduce_the_installment(
    start: Any, tmp_path: Any, enumerator: str
) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.pending_action(loan.fake.debt_key, enumerator, amount="300.00"))
    state = await loan.at(Stage.AWAITING_INSTALLMENT_REDUCTION)
    assert state.pending_reservation_amount == Decimal("300.00")
    with pytest.raises(WorkflowUpdateFailedError):
        await loan.handle.execute_update(
            "reduce_installment", InstallmentReduction(installment_value=Decimal("150.00"))
        )
    await loan.handle.execute_update("reduce_installment", InstallmentReduction(installment_value=Decimal("250.00")))
    state = await loan.at(Stage.AVERBACAO)
    assert state.installment_value == Decimal("250.00")
    assert (await _finish(loan)).status == Status.COMPLETED


async def test_balance_request_not_found_makes_a_new_consultation_then_confirms(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.pending_action(loan.fake.debt_key, "success_balance_request_not_found"))
    await loan.at(Stage.BALANCE_RECHECK)
    await loan.send(webhooks.balance_success(loan.fake.balance_keys[1], loan.request.benefit.number))
    await loan.at(Stage.AVERBACAO)
    confirm = [p for n, p in loan.fake.calls if n == "confirm_balance_request"]
    assert [c.balance_request_key for c in confirm] == [loan.fake.balance_keys[1]]
    assert (await _finish(loan)).status == Status.COMPLETED


async def test_a_refused_balance_confirmation_waits_for_the_provider_instead_of_canceling_for_good(
    start: Any, tmp_path: Any
) -> None:
    # The confirmation's path is our assumption (README): a 4xx on it is no reason to cancel the debt
    # permanently — the provider resumes the averbação once it sees the successful balance request.
    fake = FakeProvider(refuse={"confirm_balance_request": "COL000099"})
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=fake)
    await loan.averbada()
    await loan.send(webhooks.pending_action(fake.debt_key, "success_balance_request_not_found"))
    await loan.at(Stage.BALANCE_RECHECK)
    await loan.send(webhooks.balance_success(fake.balance_keys[1], loan.request.benefit.number))

    async def refused() -> LoanState | None:
        state = await loan.state()
        return state if state.balance_confirmation_refused else None

    waiting = await eventually(refused, what="the refusal on record")
    assert "COL000099" in (waiting.balance_confirmation_refused or "")
    assert any("confirmation refused" in note for note in waiting.unknown_values)
    await loan.env.sleep(timedelta(hours=1))  # a silence: the loan asks, and goes on waiting
    still = await loan.state()
    assert (still.status, still.stage) == (Status.IN_PROGRESS, Stage.BALANCE_RECHECK)
    assert "cancel_permanently" not in fake.names()
    await loan.send(webhooks.collateral_success(fake.debt_key))  # the provider resumed by itself
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(fake.debt_key, "disbursed"))
    assert (await loan.outcome()).status == Status.COMPLETED


async def test_ddb_wait_holds_averbacao_until_ddb_plus_90_days(start: Any, tmp_path: Any) -> None:
    # DDB yesterday: the margin is released in 90 days; the window (from day 65 to day 95) reaches it.
    request = loan_request(documents=document_files(tmp_path), disbursement=today() + timedelta(days=65), limit_days=30)
    loan = await start(request)
    await loan.consulted(ddb=today() - timedelta(days=1))
    await loan.signed()
    state = await loan.at(Stage.MARGIN_RELEASE)
    assert state.margin_release_at is not None
    assert state.margin_release_at.date() == today() + timedelta(days=90)
    await loan.env.sleep(timedelta(days=89))
    assert (await loan.state()).stage == Stage.MARGIN_RELEASE
    await loan.env.sleep(timedelta(days=2))
    await loan.at(Stage.AVERBACAO)
    assert (await _finish(loan)).status == Status.COMPLETED
