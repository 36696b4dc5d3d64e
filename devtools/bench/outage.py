"""An outage while the provider keeps sending webhooks: are any lost, do the loans finish?

Two kinds (``Plan.down``): Temporal down (the gateway still stores and acknowledges), or the gateway
itself down for longer than the provider's retries (its callbacks *failed*: only the recovery job,
asking the resend API, brings them back).

On a stack of its own (the server persisted to a file, so it can come back on the same state; the
main figures run on an in-memory server and stay comparable with earlier runs): a few loans are
brought to the averbação, where the sandbox answers "margin exceeded" again and again on its own
clock (teimosinha), one webhook per attempt, whatever Temporal is doing. Then the dev server is
killed (SIGKILL: no clean shutdown), kept down for longer than the sandbox's whole retry span
(its published policy, three retries five minutes apart, compressed to seconds), started again on
the same database file, and the loans are followed to their end.

What it prints: webhooks the sandbox produced in all and while Temporal was down, how many of them
have no row in the inbox (lost: under the old path, a webhook needed Temporal to be acknowledged,
and an outage longer than the retries lost it), callbacks the sandbox gave up on, and how many
loans completed. Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client, ScheduleOverlapPolicy, WorkflowExecutionStatus

from devtools.bench.floor import SIGNATURE_UPDATE
from devtools.bench.system import LoanFactory, bench_stack, loan_service
from devtools.devstack.samples import signature_now
from devtools.devstack.stack import LocalStack, StackConfig
from runtime.store.db import create_engine
from runtime.store.schema import webhook_events
from starter.api import loan_workflow_id
from webhooks.inbox.arrival import PENDING
from workflows.loan.visibility import LOAN_STATUS
from workflows.recovery.contract import RECOVERY_SCHEDULE_ID


@dataclass(frozen=True)
class Plan:
    loans: int
    outage_seconds: float
    retry_seconds: float  # the sandbox's delay between delivery attempts (published: 300)
    attempts: int  # teimosinha attempts per loan: they must outlast the outage
    interval_seconds: float  # between two of them
    limit_seconds: float  # for every wait
    down: str = "temporal"  # which process is killed: "temporal" or "gateway"

    def sandbox_env(self) -> dict[str, str]:
        return {
            "SANDBOX_PROCESSING_DELAY_SECONDS": "0.2",
            "SANDBOX_CANCEL_GRACE_SECONDS": "1.0",
            "SANDBOX_WEBHOOK_RETRY_SECONDS": str(self.retry_seconds),
            "SANDBOX_TEIMOSINHA_INTERVAL_SECONDS": str(self.interval_seconds),
            # Dated an hour apart (the bench's assumed cadence): each attempt is a new webhook.
            "SANDBOX_TEIMOSINHA_CLOCK_STEP_SECONDS": "3600",
        }


@dataclass
class Outage:
    loans: int
    completed: int
    outcomes: dict[str, int]
    down_seconds: float  # kill → the restarted server answering
    recovery_seconds: float  # the server back → the last loan closed
    sandbox_events: int  # distinct events the sandbox produced (a retry is the same event)
    sent_while_down: int
    lost: int  # sandbox events with no row in the inbox
    retried: int  # events the sandbox had to send more than once (the gateway did not acknowledge at once)
    given_up: int  # callbacks the sandbox marked failed (retries exhausted) at the end
    given_up_before_recovery: int  # ... when the process came back (a gateway outage: what the job resends)
    still_retrying: int
    inbox: dict[str, int] = field(default_factory=dict)  # the run's rows by status
    dead: list[str] = field(default_factory=list)  # processes of the stack that did not survive


def measure(folder: Path, plan: Plan) -> Outage:
    config = StackConfig.ephemeral(folder, workers=0, persist=True, sandbox_env=plan.sandbox_env())
    with bench_stack(config) as stack:
        return asyncio.run(_run(stack, plan))


async def _sandbox_events(sandbox_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30.0) as sandbox:
        response = await sandbox.get("/_sandbox/webhooks")
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found


def _by_event(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One delivery per event (the sandbox lists a duplicate's copies apart): the copy that got furthest."""
    rank = {"sent": 0, "pending": 1, "failed": 2}
    best: dict[str, dict[str, Any]] = {}
    for delivery in deliveries:
        held = best.setdefault(delivery["event_key"], delivery)
        if rank.get(delivery["callback_status"], 3) < rank.get(held["callback_status"], 3):
            best[delivery["event_key"]] = delivery
    return list(best.values())


async def _resends_settled(sandbox_url: str, deadline: float) -> None:
    """Wait (bounded) until no callback is failed or still being retried: the recovery's resends landed."""
    while time.monotonic() < deadline:
        found = _by_event(await _sandbox_events(sandbox_url))
        if all(d["callback_status"] == "sent" for d in found):
            return
        await asyncio.sleep(0.5)


async def _keep_signing(client: Client, pending: set[str], stop: asyncio.Event) -> None:
    """The formalization front end, made to ride out the outage: any call that fails (Temporal down)
    is simply tried again on the next round."""
    prefix = loan_workflow_id(LoanFactory.prefix("outage"))
    query = (
        "WorkflowType = 'LoanWorkflow' AND LoanStage = 'awaiting_signature' AND ExecutionStatus = 'Running'"
        f" AND WorkflowId STARTS_WITH '{prefix}'"
    )
    while pending and not stop.is_set():
        with contextlib.suppress(Exception):
            async for execution in client.list_workflows(query):
                if execution.id in pending:
                    await client.get_workflow_handle(execution.id).execute_update(SIGNATURE_UPDATE, signature_now())
                    pending.discard(execution.id)
        await asyncio.sleep(0.2)


async def _count(client: Client, query: str) -> int:
    try:
        return (await client.count_workflows(query)).count
    except Exception:
        return -1  # Temporal not answering (yet)


async def _closed(client: Client, loan_ids: list[str], outcomes: dict[str, str], deadline: float) -> None:
    """Follow every loan to its end (bounded); ``outcomes``: loan → LoanStatus (or the execution's)."""
    while len(outcomes) < len(loan_ids) and time.monotonic() < deadline:
        for loan_id in loan_ids:
            if loan_id in outcomes:
                continue
            try:
                description = await client.get_workflow_handle(loan_id).describe()
            except Exception:
                continue
            execution = description.status
            if execution is not None and execution != WorkflowExecutionStatus.RUNNING:
                status = description.typed_search_attributes.get(LOAN_STATUS)
                completed = execution == WorkflowExecutionStatus.COMPLETED
                outcomes[loan_id] = status if completed and status else execution.name.lower()
        await asyncio.sleep(0.5)


async def _inbox_rows(database_url: str, deadline: float) -> dict[str, str]:
    """event id → status, once the relay has nothing routed left pending (bounded)."""
    engine = create_engine(database_url)
    columns = webhook_events.c
    try:
        while True:
            async with engine.connect() as connection:
                rows = (await connection.execute(select(columns.event_id, columns.status))).all()
            if all(row.status != PENDING for row in rows) or time.monotonic() > deadline:
                return {row.event_id: row.status for row in rows}
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def _run(stack: LocalStack, plan: Plan) -> Outage:
    config = stack.config
    client, service = await loan_service(config, "bench-outage")
    factory = LoanFactory(config.data_dir / "documents", seed=11)
    requests = [factory.make("outage") for _ in range(plan.loans)]
    scenario = {"averbacao": ["consignable_margin_excceded"] * plan.attempts + ["success"]}
    async with httpx.AsyncClient(base_url=config.sandbox_url, timeout=10.0) as sandbox:
        for request in requests:
            (await sandbox.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json=scenario)).raise_for_status()
    loan_ids = [(await service.start(request)).workflow_id for request in requests]
    stop = asyncio.Event()
    signer = asyncio.create_task(_keep_signing(client, set(loan_ids), stop))

    # Every loan in the averbação (so the sandbox sends on its own while Temporal is down), bounded:
    # past the limit the outage happens anyway, with the loans wherever they are.
    in_averbacao = (
        f"LoanStage = 'averbacao' AND WorkflowId STARTS_WITH '{loan_workflow_id(LoanFactory.prefix('outage'))}'"
    )
    deadline = time.monotonic() + plan.limit_seconds
    while await _count(client, in_averbacao) < plan.loans and time.monotonic() < deadline:  # noqa: ASYNC110 - polls visibility
        await asyncio.sleep(0.2)

    before = len(await _sandbox_events(config.sandbox_url))
    down = next(p for p in stack.processes if p.name == plan.down)
    killed = time.monotonic()
    down.popen.kill()  # SIGKILL: what a crashed node or an evicted pod looks like
    await asyncio.to_thread(stack.stop_process, down)  # reaps it, and forgets it
    await asyncio.sleep(plan.outage_seconds)
    during = len(await _sandbox_events(config.sandbox_url)) - before
    # Same port (and for Temporal the same database file).
    await asyncio.to_thread(stack.start_temporal if plan.down == "temporal" else stack.start_gateway)
    back = time.monotonic()
    listed = _by_event(await _sandbox_events(config.sandbox_url))
    failed_then = sum(1 for d in listed if d["callback_status"] == "failed")
    if plan.down == "gateway":
        # An operator's "recover now" (the Schedule runs it hourly): the resend API asked for every
        # callback the provider gave up on while the gateway was away.
        await client.get_schedule_handle(RECOVERY_SCHEDULE_ID).trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)

    outcomes: dict[str, str] = {}
    await _closed(client, loan_ids, outcomes, back + plan.limit_seconds)
    if plan.down == "gateway":
        await _resends_settled(config.sandbox_url, time.monotonic() + plan.limit_seconds)
    closed = time.monotonic()
    stop.set()
    await signer
    rows = await _inbox_rows(config.database_url, time.monotonic() + 30)
    events = await _sandbox_events(config.sandbox_url)

    first = {d["event_key"]: d for d in _by_event(events)}
    stored = {event_id.removeprefix("event_key:") for event_id in rows}
    statuses: dict[str, int] = {}
    for status in rows.values():
        statuses[status] = statuses.get(status, 0) + 1
    summary: dict[str, int] = {}
    for status in outcomes.values():
        summary[status] = summary.get(status, 0) + 1
    if len(outcomes) < len(loan_ids):
        summary["still open"] = len(loan_ids) - len(outcomes)
    return Outage(
        loans=len(loan_ids),
        completed=summary.get("completed", 0),
        outcomes=summary,
        down_seconds=back - killed,
        recovery_seconds=closed - back,
        sandbox_events=len(first),
        sent_while_down=during,
        lost=sum(1 for key in first if key not in stored),
        retried=sum(1 for d in first.values() if d["attempts"] > 1),
        given_up=sum(1 for d in first.values() if d["callback_status"] == "failed"),
        given_up_before_recovery=failed_then,
        still_retrying=sum(1 for d in first.values() if d["callback_status"] == "pending"),
        inbox=statuses,
        dead=[p.name for p in stack.dead()],
    )
