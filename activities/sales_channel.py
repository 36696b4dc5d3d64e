"""The loan's events for the sales channel, into the outbox (``webhooks.outbound.outbox.Outbox``
implements :class:`EventRecorder`; the relay's notifier delivers them).

A local activity the loan runs in the background (``workflows.loan.core.LoanRun.record_events``):
idempotent by event id, so a batch recorded again after a worker died mid-insert is recorded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from temporalio import activity

from workflows.loan.loan_events import RECORD_LOAN_EVENTS, LoanEvent, RecordEvents


class EventRecorder(Protocol):
    async def put(self, events: Sequence[LoanEvent]) -> int: ...


class SalesChannelActivities:
    def __init__(self, recorder: EventRecorder) -> None:
        self._recorder = recorder

    @activity.defn(name=RECORD_LOAN_EVENTS)
    async def record_loan_events(self, call: RecordEvents) -> None:
        added = await self._recorder.put(call.events)
        activity.logger.debug("%d of %d sales channel event(s) queued", added, len(call.events))
