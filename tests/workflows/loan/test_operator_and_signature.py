"""Operator actions: validators refuse bad input before it enters history; cancel works at every stage."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.loan import CancelRequest
from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from tests.support.temporal import eventually
from tests.workflows.loan.conftest import signature
from workflows.loan.activity_models import DocumentsInput
from workflows.loan.state import LoanState, Stage, Status
from workflows.loan.workflow import LoanWorkflow


async def test_signature_before_the_loan_waits_for_it_is_refused_with_the_stage(start: Any) -> None:
    loan = await start(loan_request())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await loan.handle.execute_update("submit_signature", signature())
    assert "awaiting_signature" in str(refused.value.cause)
    assert "sign" not in loan.fake.names()


async def test_the_providers_document_validation_cancel_ends_the_loan(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.consulted()
    await loan.at(Stage.AWAITING_SIGNATURE)
    await loan.handle.execute_update("submit_signature", signature())
    await loan.at(Stage.SIGNATURE_VALIDATION)
    await loan.send(webhooks.debt(loan.fake.debt_key, "canceled_permanently"))
    outcome = await loan.outcome()
    assert outcome.status == Status.CANCELED_PERMANENTLY
    assert "documents or assistance_type" in (outcome.reason or "")


async def test_a_margin_release_cancel_from_the_provider_ends_the_loan_with_it(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.consulted()
    await loan.at(Stage.AWAITING_SIGNATURE)
    reason = "social_security_margin_release_after_disbursement_end_date"
    await loan.send(
        webhooks.debt(
            loan.fake.debt_key, "canceled_permanently", {"cancel_reason": reason, "cancel_reason_enumerator": reason}
        )
    )
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.CANCELED_PERMANENTLY, reason)


async def test_invalid_documents_wait_for_new_ones(start: Any, tmp_path: Any) -> None:
    from tests.support.fake_provider import FakeProvider

    loan = await start(loan_request(documents=document_files(tmp_path / "a")), fake=FakeProvider(invalid_documents=1))
    await loan.consulted()
    state = await loan.at(Stage.AWAITING_DOCUMENTS)
    assert state.document_problem and "250x250" in state.document_problem
    await loan.handle.execute_update("provide_documents", document_files(tmp_path / "b"))
    await loan.at(Stage.AWAITING_SIGNATURE)


async def _cancel(loan: Any) -> Any:
    return await loan.handle.execute_update(
        "cancel", CancelRequest(reason="customer gave up", operator="ana"), result_type=LoanState
    )


async def test_cancel_during_consultation_needs_no_provider_call(start: Any) -> None:
    loan = await start(loan_request())
    await eventually(lambda: _called(loan, "request_benefits"))
    state = await _cancel(loan)
    assert (state.status, state.outcome_reason) == (Status.CANCELED_PERMANENTLY, "canceled by ana: customer gave up")
    assert "cancel_permanently" not in loan.fake.names()


@pytest.mark.parametrize("stage", [Stage.AWAITING_SIGNATURE, Stage.AVERBACAO, Stage.AWAITING_REAPRESENTACAO])
async def test_cancel_after_issuance_cancels_permanently_at_the_provider(
    start: Any, tmp_path: Any, stage: Stage
) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.consulted()
    if stage != Stage.AWAITING_SIGNATURE:
        await loan.signed()
        await loan.at(Stage.AVERBACAO)
    if stage == Stage.AWAITING_REAPRESENTACAO:
        await loan.send(webhooks.collateral_success(loan.fake.debt_key))
        await loan.at(Stage.DISBURSEMENT)
        await loan.send(webhooks.ted_refusal(loan.fake.debt_key))
    await loan.at(stage)
    state = await _cancel(loan)
    assert state.status == Status.CANCELED_PERMANENTLY
    cancels = [p for n, p in loan.fake.calls if n == "cancel_permanently"]
    assert [c.debt_key for c in cancels] == [loan.fake.debt_key]
    assert (await loan.outcome()).status == Status.CANCELED_PERMANENTLY


async def test_cancel_after_close_is_refused(start: Any) -> None:
    loan = await start(loan_request())
    await eventually(lambda: _called(loan, "request_benefits"))
    await loan.send(webhooks.consultation_failure("benefits", loan.fake.benefits_key))
    await loan.outcome()
    # A closed loan takes no more updates: the server refuses them before any worker runs the
    # validator (its "already closed" branch covers a loan still running its closing steps).
    with pytest.raises(RPCError) as refused:
        await _cancel(loan)
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert "already closed" not in refused.value.message


@dataclass
class DocumentsHeld(FakeProvider):
    """attach_documents waits for the test: the loan's run loop is held inside an activity."""

    attaching: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def activities(self) -> list[Any]:
        held = self

        @activity.defn(name="attach_documents")
        async def attach_documents(call: DocumentsInput) -> None:
            held._record("attach_documents", call)
            held.attaching.set()
            await held.release.wait()

        return [a for a in super().activities() if a.__name__ != "attach_documents"] + [attach_documents]


async def test_cancel_after_the_money_left_is_refused_by_the_validator(start: Any, tmp_path: Any) -> None:
    # The provider's news is applied when it arrives (the signal handler); the run loop acts on it at
    # its next wait. Between the two, the loan is disbursed and not yet closed: held here in an
    # activity, where a cancel meets the validator's "disbursed" branch.
    fake = DocumentsHeld()
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=fake)
    await loan.consulted()
    await asyncio.wait_for(fake.attaching.wait(), timeout=15)
    await loan.send(webhooks.debt(fake.debt_key, "disbursed"))
    state = await eventually(lambda: _disbursed(loan), what="the disbursement applied")
    assert not state.closed
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _cancel(loan)
    assert "the loan was disbursed: it can no longer be canceled here" in str(refused.value.cause)
    fake.release.set()
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.COMPLETED, "disbursed")
    assert "cancel_permanently" not in fake.names()
    assert [a.kind for a in (await loan.state()).operator_actions] == []  # refused before history


async def _disbursed(loan: Any) -> LoanState | None:
    state: LoanState = await loan.state()
    return state if state.disbursed else None


async def _called(loan: Any, name: str) -> bool:
    return name in loan.fake.names()


async def test_the_signatures_answer_signature_received_is_applied_as_a_fact(start: Any, tmp_path: Any) -> None:
    # Seed 001 §6: POST /debt/{key}/signed answers the debt with status signature_received. That answer
    # is the provider saying it has the signature: the loan moves on without waiting for its webhook.
    fake = FakeProvider()
    body = {"key": fake.debt_key, "status": "signature_received", "webhook_type": "debt", "data": {}}
    fake.sign_answers = [webhooks.received(body, event_id=f"answer:{fake.debt_key}:signed:signature_received")]
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=fake)
    await loan.consulted()
    await loan.at(Stage.AWAITING_SIGNATURE)
    state = await loan.handle.execute_update(LoanWorkflow.submit_signature, signature())
    assert state.signature_received  # applied inside the Update, before it answered
    state = await loan.at(Stage.AVERBACAO)  # no signature webhook was sent
    [answer] = [e for e in state.events if e.event_id.startswith("answer:")]
    assert (answer.webhook_type, answer.status, answer.effect) == ("debt", "signature_received", "signature accepted")
    # The webhook saying the same, when it comes, changes nothing.
    await loan.send(webhooks.debt(fake.debt_key, "signature_received"))
    await loan.send(webhooks.collateral_success(fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
