"""Reconciliation: a loan that hears nothing from the provider for longer than its stage should take
asks the provider for its state (on a durable timer) and applies what it finds as the lost webhook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support import webhooks
from tests.support.loans import document_files, loan_request
from tests.support.temporal import eventually
from tests.workflows.loan.conftest import signature
from workflows.loan.state import Stage, Status
from workflows.loan.visibility import PROVIDER_DOES_NOT_KNOW


async def _signed_without_news(loan: Any) -> None:
    """Signed by the borrower; the provider's answer to it never arrives."""
    await loan.consulted()
    await loan.at(Stage.AWAITING_SIGNATURE)
    await loan.handle.execute_update("submit_signature", signature())
    await loan.at(Stage.SIGNATURE_VALIDATION)


async def test_a_lost_disbursed_webhook_is_found_by_asking_the_provider(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    # The disbursed webhook is lost; the provider's lookup says the debt was paid out.
    loan.fake.lookup_finds = [
        webhooks.received(
            {"webhook_type": "debt", "key": loan.fake.debt_key, "status": "disbursed", "data": {}},
            event_id=f"lookup:{loan.fake.debt_key}:debt:disbursed",
        )
    ]
    outcome = await loan.outcome()  # time skips to the first silence's end
    assert (outcome.status, outcome.reason) == (Status.COMPLETED, "disbursed")
    lookups = [call for name, call in loan.fake.calls if name == "look_up_provider_state"]
    assert len(lookups) == 1
    assert lookups[0].debt_key == loan.fake.debt_key and lookups[0].requester_identifier_key
    assert not lookups[0].collateral  # the disbursement asks about the debt only
    state = await loan.state()
    assert state.lookups == 1 and [e.effect for e in state.events].count("disbursed") == 1


async def test_a_silent_provider_is_asked_less_and_less_often(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await _signed_without_news(loan)
    # Silences of 30 min, then 1 h, then 2 h (the policy's defaults): asked at 0:30, 1:30 and 3:30.
    await loan.env.sleep(timedelta(hours=3, minutes=45))

    async def asked_three_times() -> int | None:
        lookups = (await loan.state()).lookups
        return lookups if lookups == 3 else None

    await eventually(asked_three_times, what="three lookups")
    calls = [call for name, call in loan.fake.calls if name == "look_up_provider_state"]
    assert len(calls) == 3 and all(call.collateral for call in calls)
    assert (await loan.state()).stage == Stage.SIGNATURE_VALIDATION


async def test_a_provider_that_keeps_talking_is_not_asked(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    for _ in range(3):  # teimosinha: Dataprev answers every 20 minutes, the averbação goes on
        await loan.env.sleep(timedelta(minutes=20))
        await loan.send(webhooks.collateral_error(loan.fake.debt_key, "consignable_margin_excceded"))

    async def answered_three_times() -> int | None:
        answers = (await loan.state()).averbacao_answers
        return answers if answers == 3 else None

    await eventually(answered_three_times, what="three averbação answers")
    assert "look_up_provider_state" not in loan.fake.names()
    assert (await loan.state()).lookups == 0


async def test_a_cancel_overtaking_the_disbursement_is_checked_against_the_debt(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    # The provider paid out; its "canceled" arrives first (the disbursed webhook is late or lost).
    loan.fake.lookup_finds = [
        webhooks.received(
            {"webhook_type": "debt", "key": loan.fake.debt_key, "status": "disbursed", "data": {}},
            event_id=f"lookup:{loan.fake.debt_key}:debt:disbursed",
        )
    ]
    await loan.send(webhooks.canceled(loan.fake.debt_key, "manual", "Operacao cancelada manualmente"))
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.COMPLETED, "disbursed")
    state = await loan.state()
    assert any("its debt is disbursed" in note for note in state.unknown_values)
    assert "cancel_permanently" not in loan.fake.names()


async def test_a_cancel_the_debt_confirms_ends_the_loan_canceled(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.averbada()
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.canceled(loan.fake.debt_key, "manual", "Operacao cancelada manualmente"))
    outcome = await loan.outcome()
    assert outcome.status == Status.CANCELED
    assert "look_up_provider_state" in loan.fake.names()  # asked before ending on it


async def test_a_debt_the_provider_does_not_know_is_shown_to_operators_and_never_issued_again(
    start: Any, tmp_path: Any
) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await _signed_without_news(loan)
    loan.fake.lookup_not_found = ["debt"]  # the provider answers 404 for the debt the loan holds
    await loan.env.sleep(timedelta(minutes=31))  # past the first silence (30 min): the loan asks

    async def noticed() -> Any:
        state = await loan.state()
        return state if state.provider_does_not_know else None

    state = await eventually(noticed, what="the loan to notice")
    assert state.provider_does_not_know == ["debt"] and state.provider_does_not_know_since is not None
    assert state.stage == Stage.SIGNATURE_VALIDATION and not state.closed  # it waits for an operator
    assert loan.fake.names().count("issue_debt") == 1  # nothing issued again on its own
    described = await loan.handle.describe()
    assert described.typed_search_attributes.get(PROVIDER_DOES_NOT_KNOW) == ["debt"]
    # The provider finds it after all (a lagging replica): the next lookup clears the flag.
    loan.fake.lookup_not_found = []
    await loan.env.sleep(timedelta(hours=1, minutes=5))

    async def cleared() -> Any:
        state = await loan.state()
        return state if not state.provider_does_not_know and state.lookups >= 2 else None

    assert (await eventually(cleared, what="the flag to clear")).provider_does_not_know_since is None
