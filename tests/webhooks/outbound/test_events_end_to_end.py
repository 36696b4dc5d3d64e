"""The loans' events reach the sales channel on the real stack (dev server, worker, sandbox, gateway,
relay with its notifier, the development receiver): a complete loan's events arrive once each by
idempotency key, in order — and so they do when the worker is killed (-9) while the loan records one."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, StackConfig
from domain.loan import LoanRequest
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX, TEST_CODEC_KEYS
from tests.support.clock import needs_real_clock
from tests.support.temporal import eventually
from workflows.loan.state import LoanState, Stage, Status

pytestmark = pytest.mark.integration

# What a loan that completes tells, as the borrower lives it (workflows.loan.sales_channel).
COMPLETE_LOAN = [
    ("loan.stage_changed", "awaiting_signature"),
    ("loan.stage_changed", "signature_validation"),
    ("loan.stage_changed", "averbacao"),
    ("loan.stage_changed", "disbursement"),
    ("loan.ended", "completed"),
]


def told(stack: LocalStack, request_key: str) -> dict[str, Any]:
    answer = httpx.get(f"{stack.config.sales_channel_url}/events", params={"request_key": request_key}, timeout=5)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


async def told_until_the_end(stack: LocalStack, request_key: str) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        found = told(stack, request_key)
        events = found["events"]
        return found if events and events[-1]["payload"]["type"] == "loan.ended" else None

    return await eventually(ended, seconds=30, what="the loan's ending at the sales channel")


def assert_told_once_each_in_order(found: dict[str, Any], request: LoanRequest) -> None:
    events = found["events"]
    key = request.request_key
    assert [e["webhook_id"] for e in events] == [f"{key}:{n}" for n in range(1, len(events) + 1)]
    payloads = [e["payload"] for e in events]
    stages = [(p["type"], p["data"]["stage" if p["type"] == "loan.stage_changed" else "status"]) for p in payloads]
    # Each told once, in the loan's order. A stage the loan passes through between two of its tasks
    # (the averbação's and the disbursement's webhooks arriving together, under load) is not a stage
    # the borrower waits in: it may be skipped, never repeated or reordered.
    assert stages[0] == COMPLETE_LOAN[0] and stages[-1] == COMPLETE_LOAN[-1]
    assert stages == [step for step in COMPLETE_LOAN if step in stages], stages
    assert len(stages) >= len(COMPLETE_LOAN) - 1, stages
    assert found["repeats"] == {}  # each idempotency key delivered once
    assert found["rejected"] == 0  # every delivery's signature verified
    body = json.dumps([e["payload"] for e in events])
    for personal in (request.borrower.cpf, request.borrower.name, request.benefit.number):
        assert personal not in body


async def complete(service: LoanService, request: LoanRequest) -> LoanState:
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=120)
    await service.submit_signature(request.request_key, signature_now())
    return await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)


def a_request(tmp_path: Path) -> LoanRequest:
    cpf = sample_cpf(1, random.Random())
    return sample_request(COMPLETES, cpf=cpf, stamp=str(random.randrange(10**9)), documents_dir=tmp_path)


async def test_a_complete_loans_events_reach_the_sales_channel_once_each_in_order(
    stack: LocalStack, temporal_client: Client, tmp_path: Path
) -> None:
    service = LoanService(temporal_client, stack.config.task_queue)
    request = a_request(tmp_path)
    await service.start(request)
    state = await complete(service, request)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert_told_once_each_in_order(await told_until_the_end(stack, request.request_key), request)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own: this test kills its worker."""
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("events"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS
    )
    stack = LocalStack(config)
    try:
        yield stack.start()
    finally:
        stack.stop()


def kill_worker(stack: LocalStack) -> None:
    [worker] = [p for p in stack.processes if p.name == "worker-0"]
    worker.popen.kill()
    worker.popen.wait()
    stack.processes.remove(worker)


async def test_a_worker_killed_while_the_loan_records_an_event_leaves_no_duplicate(
    own_stack: LocalStack, tmp_path: Path
) -> None:
    stack = own_stack
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    service = LoanService(await connect(settings, codec=stack.config.codec_settings()), stack.config.task_queue)
    request = a_request(tmp_path)
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        # Each call for this CPF takes 2 s: time to catch the loan sending its documents.
        scenario = {"faults": {"latency_ms": 2000}}
        (await sandbox.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json=scenario)).raise_for_status()
    await service.start(request)
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.DOCUMENTS, seconds=120)
    # The store held by another writer: the loan's recording of "awaiting your signature" waits on it.
    store = Path(stack.config.database_url.split("///", 1)[1])
    lock = sqlite3.connect(store, isolation_level=None, timeout=30)
    try:
        lock.execute("BEGIN IMMEDIATE")

        async def recording() -> LoanState | None:
            state = await service.state(request.request_key)
            return state if state.sales_channel.unrecorded else None

        waiting = await eventually(recording, seconds=60, what="an event being recorded")
        assert [e.stage for e in waiting.sales_channel.unrecorded] == [Stage.AWAITING_SIGNATURE]
        kill_worker(stack)  # -9 with the recording in flight
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    stack.start_worker(0)  # the loan's task goes to the new worker, which records the event again
    state = await complete(service, request)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert_told_once_each_in_order(await told_until_the_end(stack, request.request_key), request)
