"""Every durable timer a loan starts carries a summary, so the Web UI's timeline reads "disbursement
window" or "consultation deadline" instead of a bare duration."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType

from tests.support import webhooks
from tests.support.loans import document_files, loan_request
from workflows.loan.state import Stage, Status


async def test_every_timer_of_a_loan_says_what_it_waits_for(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.consulted()
    await loan.signed()
    await loan.at(Stage.AVERBACAO)
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    assert (await loan.outcome()).status == Status.COMPLETED

    converter = loan.env.client.data_converter
    summaries = []
    async for event in loan.handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            assert event.user_metadata.HasField("summary"), event
            (summary,) = await converter.decode([event.user_metadata.summary])
            summaries.append(summary)
    assert summaries, "the loan started no timer"
    assert all(isinstance(s, str) and s for s in summaries), summaries
    assert {"consultation deadline", "disbursement window", "provider silence: next lookup"} <= set(summaries)
