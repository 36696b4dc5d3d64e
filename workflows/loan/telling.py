"""The loan's side of telling the sales channel: at each publish, decide whether an event is due
(``workflows.loan.sales_channel``), and record the due events into the outbox through a local activity,
in the background — the loan never waits for it (``LoanRun.publish`` calls :meth:`SalesChannelTeller.tell`).

Workflow code: deterministic (timers, a local activity, asyncio tasks on the workflow's loop).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.loan.facts import note_unknown
    from workflows.loan.loan_events import RECORD_LOAN_EVENTS, RecordEvents
    from workflows.loan.sales_channel import event_due
    from workflows.loan.state import LoanState

SALES_CHANNEL_EVENTS = "sales-channel-events"
"""Patch: the loan tells the sales channel its news through the outbox; loans started before it tell
nothing (their histories replay as they were)."""

# Recording is a short local activity in the background: it never holds the loan up. A failure (the
# store out of reach) is retried on a durable timer, backing off, with every event due by then.
RECORD_TIMEOUT = timedelta(seconds=10)
RECORD_RETRY = RetryPolicy(maximum_attempts=1)  # retried by the loan, on a durable timer
RECORD_AGAIN_FIRST = timedelta(seconds=30)
RECORD_AGAIN_MAX = timedelta(minutes=30)
EVENTS_CLOSE_PATIENCE = timedelta(days=1)
"""How long a closed loan waits for its last events to reach the outbox (as long as it waits to
release its provider keys, in the same store) before it completes, noting them unrecorded."""


class SalesChannelTeller:
    def __init__(self) -> None:
        # SALES_CHANNEL_EVENTS, asked once at the start of each run, before any local activity
        # (LoanRun.decide_patches): a patch first asked after a local activity of the same workflow
        # task does not replay when that activity spanned a task heartbeat.
        self.tells: bool | None = None
        self.recording: asyncio.Task[None] | None = None

    def tell(self, state: LoanState) -> None:
        """Decide whether the sales channel is due an event (called at every publish: whatever changed
        the loan, a stage, a signal, an Update, the ending) and record what is due, in the background."""
        if not self.tells:  # not decided yet (a signal before the run starts), or a loan from before
            return
        log = state.sales_channel
        event = event_due(state, log.told, now=workflow.now())
        if event is not None:
            log.told = event
            log.unrecorded.append(event)
        if log.unrecorded and (self.recording is None or self.recording.done()):
            self.recording = asyncio.create_task(self.record(state))

    async def record(self, state: LoanState) -> None:
        """Put the unrecorded events in the outbox, oldest first, all at once (so the outbox never has a
        later event of this loan without the earlier ones); one recording at a time. Idempotent by event
        id: a batch recorded again (a worker that died after the insert) is recorded once."""
        log = state.sales_channel
        again = RECORD_AGAIN_FIRST
        while log.unrecorded:
            batch = list(log.unrecorded)
            try:
                await workflow.execute_local_activity(
                    RECORD_LOAN_EVENTS,
                    RecordEvents(loan_id=workflow.info().workflow_id, events=batch),
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                    summary="sales channel events",
                )
            except (ActivityError, ApplicationError) as error:
                log.record_failures += 1
                log.last_failure = str(error.cause if isinstance(error, ActivityError) and error.cause else error)[:300]
                await workflow.sleep(again, summary="sales channel events: record them again")
                again = min(again * 2, RECORD_AGAIN_MAX)
                continue
            recorded = {event.sequence for event in batch}
            log.unrecorded = [event for event in log.unrecorded if event.sequence not in recorded]
            log.last_failure = None

    async def recorded(self, state: LoanState) -> None:
        """At the end: wait (bounded) until the last events are in the outbox; a run that ends does not
        take its background tasks along."""
        log = state.sales_channel
        if not log.unrecorded:
            return
        try:
            await workflow.wait_condition(lambda: not log.unrecorded, timeout=EVENTS_CLOSE_PATIENCE)
        except TimeoutError:
            note_unknown(state, f"{len(log.unrecorded)} sales channel event(s) never reached the outbox")
