"""Disbursement refusals, reapresentação, and the disbursement window's durable timer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.loan import Reapresentacao
from tests.support import webhooks
from tests.support.loans import document_files, loan_request, today
from workflows.loan.state import Stage, Status


async def _to_disbursement(loan: Any) -> None:
    await loan.averbada()
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)


async def test_ted_refusal_then_reapresentacao_then_disbursed(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await _to_disbursement(loan)
    await loan.send(webhooks.ted_refusal(loan.fake.debt_key))
    state = await loan.at(Stage.AWAITING_REAPRESENTACAO)
    assert state.refusal == "ted_refusal: agencia_conta_invalida"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await loan.handle.execute_update("reapresentar", Reapresentacao(disbursement_date=today() + timedelta(days=30)))
    assert "disbursement_date" in str(refused.value.cause)
    await loan.handle.execute_update("reapresentar", Reapresentacao(disbursement_date=today() + timedelta(days=2)))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    outcome = await loan.outcome()
    assert outcome.status == Status.COMPLETED
    assert "change_disbursement_date" in loan.fake.names()


async def test_pix_refusal_without_reapresentacao_ends_when_the_window_closes(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path), limit_days=5))
    await _to_disbursement(loan)
    await loan.send(
        webhooks.debt(
            loan.fake.debt_key,
            "canceled",
            {"pix_refusal": {"reason_enumerator": "invalid_document_number"}, "cancel_reason": "pix_refusal"},
        )
    )
    await loan.at(Stage.AWAITING_REAPRESENTACAO)
    outcome = await loan.outcome()  # time skips to the end of the last option day
    assert (outcome.status, outcome.reason) == (Status.CANCELED, "disbursement_window_expired")
    assert "cancel_permanently" in loan.fake.names()


async def test_a_loan_not_signed_by_the_end_of_the_window_is_canceled_at_the_provider(
    start: Any, tmp_path: Any
) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path), limit_days=3))
    await loan.consulted()
    state = await loan.at(Stage.AWAITING_SIGNATURE)
    assert state.disbursement_window_end is not None
    assert state.disbursement_window_end.date() == today() + timedelta(days=1 + 3 + 1)
    await loan.env.sleep(timedelta(days=3))
    assert (await loan.state()).stage == Stage.AWAITING_SIGNATURE
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.CANCELED, "disbursement_window_expired")
    assert loan.fake.names()[-2:] == ["cancel_permanently", "release_provider_keys"]


async def test_the_providers_manual_cancel_at_the_window_end_reads_as_window_expired(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path), limit_days=1))
    await loan.consulted()
    state = await loan.at(Stage.AWAITING_SIGNATURE)
    # The provider cancels a few minutes before our own timer would.
    await loan.env.sleep(state.disbursement_window_end - await loan.env.get_current_time() - timedelta(minutes=30))
    await loan.send(webhooks.canceled(loan.fake.debt_key, "manual", "Operacao cancelada manualmente"))
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.CANCELED, "disbursement_window_expired")
