"""A loan records its news for the sales channel in the outbox (the fake's, by event id, as the store's
insert), in order, once each — and never waits for it: an outbox out of reach holds nothing up."""

from __future__ import annotations

from typing import Any

from temporalio.worker import Replayer

from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from workflows.loan.loan_events import Action, EventType, LoanEvent
from workflows.loan.state import Stage, Status
from workflows.loan.workflow import LoanWorkflow


def told(fake: FakeProvider) -> list[tuple[int, str, str, str]]:
    events = sorted(fake.outbox.values(), key=lambda e: e.sequence)
    return [(e.sequence, e.type.value, e.stage.value, e.status.value) for e in events]


async def complete(loan: Any) -> None:
    await loan.consulted()
    await loan.signed()
    await loan.at(Stage.AVERBACAO)
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))


COMPLETE_LOAN = [
    (1, "loan.stage_changed", "awaiting_signature", "in_progress"),
    (2, "loan.stage_changed", "signature_validation", "in_progress"),
    (3, "loan.stage_changed", "averbacao", "in_progress"),
    (4, "loan.stage_changed", "disbursement", "in_progress"),
    (5, "loan.ended", "closed", "completed"),
]


async def test_a_complete_loan_records_each_borrower_stage_and_its_ending(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await complete(loan)
    outcome = await loan.outcome()
    assert outcome.status == Status.COMPLETED
    assert told(loan.fake) == COMPLETE_LOAN
    events: dict[str, LoanEvent] = loan.fake.outbox
    assert sorted(events) == [f"{loan.request.request_key}:{n}" for n in range(1, 6)]
    signature = events[f"{loan.request.request_key}:1"]
    state = await loan.state()
    assert signature.next_action is not None and signature.next_action.action == Action.SIGN
    assert signature.next_action.deadline == state.disbursement_window_end  # unsigned by then, the loan ends
    assert state.sales_channel.unrecorded == [] and state.sales_channel.told == events[f"{loan.request.request_key}:5"]
    # Its history replays on this code (the patch and the background recordings are deterministic).
    replay = await Replayer(workflows=[LoanWorkflow], data_converter=loan.env.client.data_converter).replay_workflow(
        await loan.handle.fetch_history(), raise_on_replay_failure=False
    )
    assert replay.replay_failure is None


async def test_a_rejected_loan_tells_only_its_ending(start: Any) -> None:
    loan = await start(loan_request(), fake=FakeProvider(refuse={"issue_debt": "LEG000041"}))
    await loan.consulted()
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert told(loan.fake) == [(1, "loan.ended", "closed", "rejected")]
    (ending,) = loan.fake.outbox.values()
    assert ending.type == EventType.ENDED and ending.reason is not None and "LEG000041" in ending.reason


async def test_an_outbox_out_of_reach_for_a_while_gets_every_event_later_in_order(start: Any, tmp_path: Any) -> None:
    fake = FakeProvider(outbox_down=2)  # the first two recordings fail
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=fake)
    await complete(loan)
    assert (await loan.outcome()).status == Status.COMPLETED
    assert told(fake) == COMPLETE_LOAN
    state = await loan.state()
    assert state.sales_channel.record_failures >= 1 and state.sales_channel.unrecorded == []


async def test_an_outbox_never_reached_never_holds_the_loan_up(start: Any, tmp_path: Any) -> None:
    fake = FakeProvider(outbox_down=10**6)
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=fake)
    await complete(loan)  # every stage reached as without events
    outcome = await loan.outcome()
    assert outcome.status == Status.COMPLETED and fake.outbox == {}
    state = await loan.state()
    assert [e.sequence for e in state.sales_channel.unrecorded] == [1, 2, 3, 4, 5]
    assert "5 sales channel event(s) never reached the outbox" in state.unknown_values
