"""The floor: a bare workflow shaped like a happy-path loan, doing no work.

Its plan is read from a real loan's history in the same benchmark run: the same activities (in the
same rounds), signals, timers (and how many get canceled), local activities, search-attribute
upserts and the signature update. Its activities do nothing but signal the workflow back as many
times as the provider's webhooks signal the loan after that call. ``floor/s`` is then what Temporal,
the SDK and this machine allow for that shape; ``loans/s ÷ floor/s`` is how much of it the product
keeps (the gateway, the inbox and its relay, the sandbox and the real activities are the difference).

The same worker runs ``BenchSink``: a workflow that only takes ``provider_event`` signals, the
target the gateway benchmark routes its keys to (the relay delivers only to a running workflow).

Run its worker as ``python -m bench.floor`` (same settings as ``worker.py``; the task queue comes
from ``TEMPORAL_TASK_QUEUE``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from domain.loan import SignatureSubmission
    from loan.contract import PROVIDER_EVENT_SIGNAL
    from loan.visibility import LOAN_STAGE
    from provider.models.webhooks import ReceivedWebhook
    from runtime.settings import TemporalSettings, WorkerSettings
    from runtime.telemetry import exit_now
    from runtime.temporal import connect

FLOOR_WORKFLOW = "BenchFloor"
SINK_WORKFLOW = "BenchSink"
FLOOR_TASK_QUEUE = "bench-floor"
AWAITING_SIGNATURE = "awaiting_signature"
SIGNATURE_UPDATE = "submit_signature"
EVENT_SIGNAL = PROVIDER_EVENT_SIGNAL

log = logging.getLogger("bench.floor")


class FloorRound(BaseModel):
    """One provider call and the webhooks that follow it; ``after_update``: the call runs inside the
    signature update's handler, as the loan's ``sign`` does."""

    after_update: bool = False
    signals: int = 0


class FloorPlan(BaseModel):
    rounds: list[FloorRound]
    timers: int = 0
    canceled_timers: int = 0
    local_activities: int = 0
    upserts: int = 0

    @property
    def activities(self) -> int:
        return len(self.rounds)

    @property
    def signals(self) -> int:
        return sum(r.signals for r in self.rounds)

    @property
    def updates(self) -> int:
        return sum(r.after_update for r in self.rounds)


def plan_from_history(events: Iterable[HistoryEvent]) -> FloorPlan:
    """The shape of one run of a workflow, as a floor plan."""
    plan = FloorPlan(rounds=[])
    rounds = plan.rounds  # (pydantic copies a list given to the constructor)
    update_pending = False
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            rounds.append(FloorRound(after_update=update_pending))
            update_pending = False
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            update_pending = True
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            if not rounds:
                rounds.append(FloorRound())
            rounds[-1].signals += 1
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            plan.timers += 1
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            plan.canceled_timers += 1
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            plan.local_activities += 1
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            plan.upserts += 1
    return plan


class FloorCall(BaseModel):
    workflow_id: str
    signals: int


class FloorEvent(BaseModel):
    sequence: int


@activity.defn(name="floor_call")
async def floor_call(call: FloorCall) -> None:
    handle = activity.client().get_workflow_handle(call.workflow_id)
    for sequence in range(call.signals):
        await handle.signal(EVENT_SIGNAL, FloorEvent(sequence=sequence))


@activity.defn(name="floor_local")
async def floor_local() -> None:
    return None


CALL_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name=FLOOR_WORKFLOW)
class FloorWorkflow:
    def __init__(self) -> None:
        self._signals = 0
        self._signature_call: FloorRound | None = None

    @workflow.run
    async def run(self, plan: FloorPlan) -> int:
        timers = [
            asyncio.create_task(workflow.sleep(timedelta(days=30), summary="floor timer")) for _ in range(plan.timers)
        ]
        upserts_left, locals_left, expected = plan.upserts, plan.local_activities, 0
        for index, round_ in enumerate(plan.rounds):
            if locals_left:
                await workflow.execute_local_activity(floor_local, start_to_close_timeout=CALL_TIMEOUT)
                locals_left -= 1
            if upserts_left:
                stage = AWAITING_SIGNATURE if round_.after_update else f"floor-{index}"
                workflow.upsert_search_attributes([LOAN_STAGE.value_set(stage)])
                upserts_left -= 1
            if round_.after_update:
                self._signature_call = round_
                await workflow.wait_condition(lambda: self._signature_call is None)
            else:
                await self._call(round_)
            expected += round_.signals
            await self._signals_reach(expected)
            if index == 1:
                for timer in timers[: plan.canceled_timers]:
                    timer.cancel()
        for _ in range(upserts_left):
            workflow.upsert_search_attributes([LOAN_STAGE.value_set("floor-done")])
        for _ in range(locals_left):
            await workflow.execute_local_activity(floor_local, start_to_close_timeout=CALL_TIMEOUT)
        return self._signals

    async def _signals_reach(self, count: int) -> None:
        await workflow.wait_condition(lambda: self._signals >= count)

    async def _call(self, round_: FloorRound) -> None:
        call = FloorCall(workflow_id=workflow.info().workflow_id, signals=round_.signals)
        await workflow.execute_activity(floor_call, call, start_to_close_timeout=CALL_TIMEOUT)

    @workflow.signal(name=EVENT_SIGNAL)
    def provider_event(self, event: FloorEvent) -> None:
        self._signals += 1

    @workflow.update(name=SIGNATURE_UPDATE)
    async def submit_signature(self, submission: SignatureSubmission) -> int:
        assert self._signature_call is not None
        await self._call(self._signature_call)
        self._signature_call = None
        return self._signals

    @submit_signature.validator
    def _validate(self, submission: SignatureSubmission) -> None:
        if self._signature_call is None:
            raise ValueError("not waiting for a signature")


@workflow.defn(name=SINK_WORKFLOW)
class SinkWorkflow:
    """Stands in for a loan as the relay's target: decodes each delivered webhook (as a loan does)
    and counts it. Runs until terminated; the benchmark's stack is thrown away after it."""

    def __init__(self) -> None:
        self._events = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: False)
        return self._events

    @workflow.signal(name=EVENT_SIGNAL)
    def provider_event(self, event: ReceivedWebhook) -> None:
        self._events += 1


async def run_worker() -> None:
    temporal, options = TemporalSettings(), WorkerSettings()
    logging.basicConfig(level=options.log_level, format="%(asctime)s floor %(levelname)s %(name)s: %(message)s")
    client = await connect(temporal, identity=f"floor-{os.getpid()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The same limits as the loan worker (worker.py), so the two figures compare like with like.
    worker = Worker(
        client,
        task_queue=temporal.task_queue,
        workflows=[FloorWorkflow, SinkWorkflow],
        activities=[floor_call, floor_local],
        **options.worker_limits(),
    )
    async with worker:
        log.info("worker polling %s on %s", temporal.task_queue, temporal.where())
        await stop.wait()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(run_worker())
    exit_now(0)
