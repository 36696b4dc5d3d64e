"""Several worker processes on one task queue share the loans; SIGTERM drains one without harm.

The sandbox holds every provider call of these loans for a while, so the worker we stop has calls
in flight when SIGTERM arrives. A drained worker finishes them (their completions follow the
signal, attempt 1, no timeout); the other worker carries every loan to its end.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, StackConfig, running
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX, TEST_CODEC_KEYS
from tests.support.clock import needs_real_clock
from workflows.loan.state import Stage, Status

pytestmark = pytest.mark.integration

LOANS = 6
CALL_LATENCY_MS = 1500


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("two-workers"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS, workers=2
    )
    with running(config) as stack:
        yield stack


async def _worker_has_a_call_in_flight(client: Client, workflow_ids: list[str], identity: str) -> bool:
    for workflow_id in workflow_ids:
        description = await client.get_workflow_handle(workflow_id).describe()
        for activity in description.raw_description.pending_activities:
            if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED and (
                activity.last_worker_identity == identity
            ):
                return True
    return False


async def test_sigterm_drains_a_worker_and_every_loan_completes(two_workers: LocalStack, tmp_path: Path) -> None:
    stack = two_workers
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    client = await connect(settings, codec=stack.config.codec_settings())
    service = LoanService(client, stack.config.task_queue)
    rng = random.Random()
    keys = []
    sandbox = httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10)
    for _ in range(LOANS):
        cpf = sample_cpf(1, rng)
        scenario = {"faults": {"latency_ms": CALL_LATENCY_MS}}
        (await sandbox.put(f"/_sandbox/scenarios/{cpf}", json=scenario)).raise_for_status()
        request = sample_request(COMPLETES, cpf=cpf, stamp=str(rng.randrange(10**9)), documents_dir=tmp_path)
        keys.append((await service.start(request)).workflow_id.removeprefix("loan-"))
    await sandbox.aclose()
    workflow_ids = [f"loan-{key}" for key in keys]

    first, second = (p for p in stack.processes if p.name.startswith("worker-"))
    identity = f"worker-{first.popen.pid}"
    for _ in range(200):
        if await _worker_has_a_call_in_flight(client, workflow_ids, identity):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"{identity} never had a provider call in flight")

    terminated_at = datetime.now(UTC)
    await asyncio.to_thread(stack.stop_process, first, 60.0)
    assert first.popen.returncode == 0
    log = first.log.read_text()
    assert "stopping: no new tasks" in log and "worker stopped" in log and "Traceback" not in log

    async def complete(key: str) -> Status:
        state = await service.wait_until(key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=120)
        if state.stage == Stage.AWAITING_SIGNATURE:
            await service.submit_signature(key, signature_now())
        return (await service.wait_until(key, lambda s: s.closed, seconds=120)).status

    assert await asyncio.gather(*(complete(key) for key in keys)) == [Status.COMPLETED] * LOANS
    assert second.popen.poll() is None

    finished_by_drained_worker = 0
    for workflow_id in workflow_ids:
        started_by: dict[int, str] = {}
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            attributes = event.activity_task_started_event_attributes
            assert event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, workflow_id
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                assert attributes.attempt == 1, f"{workflow_id}: an activity was retried"
                started_by[event.event_id] = attributes.identity
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                started = event.activity_task_completed_event_attributes.started_event_id
                if started_by.get(started) == identity and event.event_time.ToDatetime(UTC) > terminated_at:
                    finished_by_drained_worker += 1
    assert finished_by_drained_worker >= 1
