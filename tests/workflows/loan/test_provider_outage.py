"""The provider out of reach (every call a retryable 503): Temporal retries the call with back-off, the
loan waits through an outage that ends, and gives up on one that outlasts ``provider_call_timeout``
(2 hours, on the time-skipping server) — ending with the call named and nothing issued."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from workflows.loan.state import Stage, Status


async def test_an_outage_past_the_give_up_ends_the_loan_naming_the_call(start: Any) -> None:
    fake = FakeProvider(down={"issue_debt": 10_000})
    loan = await start(loan_request(), fake=fake)
    await loan.consulted()
    await asyncio.wait_for(loan.handle.result(), timeout=120)  # two hours of retries, skipped
    state = await loan.state()
    assert state.status == Status.REJECTED
    assert state.outcome_reason is not None
    assert state.outcome_reason.startswith("provider unavailable for issue_debt"), state.outcome_reason
    # Retried all along (1 s doubling up to a minute: well over 100 attempts in two hours) ...
    assert fake.names().count("issue_debt") > 100
    # ... and nothing after it: no debt, so nothing to sign, attach or cancel.
    assert state.debt_key is None
    assert not {"attach_documents", "sign", "cancel_permanently"} & set(fake.names())


async def test_an_outage_that_ends_before_the_give_up_only_delays_the_loan(start: Any, tmp_path: Path) -> None:
    fake = FakeProvider(down={"issue_debt": 20})  # about 15 minutes of 503s
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=fake)
    await loan.consulted()
    state = await loan.state()
    for _ in range(60):  # each retry's back-off skipped in turn (at most a minute each, bounded)
        if state.stage != Stage.ISSUANCE:
            break
        await loan.env.sleep(timedelta(minutes=1))
        state = await loan.state()
    state = await loan.at(Stage.AWAITING_SIGNATURE, seconds=30)
    assert state.status == Status.IN_PROGRESS and state.debt_key == fake.debt_key
    assert fake.names().count("issue_debt") == 21  # twenty failures, then the one that issued
