"""The happy path, end to end, on the time-skipping server with fake provider activities."""

from __future__ import annotations

from typing import Any

from tests.support import webhooks
from tests.support.loans import document_files, loan_request
from workflows.loan.state import Stage, Status


async def test_a_loan_goes_from_consultation_to_disbursement(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.consulted()
    await loan.signed()
    await loan.at(Stage.AVERBACAO)
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    outcome = await loan.outcome()
    assert outcome.status == Status.COMPLETED
    assert outcome.debt_key == loan.fake.debt_key and outcome.contract_number == "TST0000000001"
    assert loan.fake.names() == [
        "request_benefits",
        "request_balance",
        "simulate",
        "issue_debt",
        "attach_documents",
        "sign",
        "release_provider_keys",
    ]
    state = await loan.state()
    assert state.stage == Stage.CLOSED and state.collateral_constituted and state.disbursed
    assert [e.effect for e in state.events] == [
        "1 benefit(s) listed",
        "benefit data received",
        "signature accepted",
        "averbação done",
        "disbursed",
    ]
    released = loan.fake.calls[-1][1]
    assert sorted(released.keys) == sorted([loan.fake.benefits_key, loan.fake.balance_keys[0], loan.fake.debt_key])
