"""``WORKER_ROLE``: a workflows-only worker and an activities-only worker on one task queue carry a loan
to its end between them — every workflow task (and the local activities they run) in the first, every
activity task in the second, as each one's identity in the loan's history shows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, Process, StackConfig, running
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX, TEST_CODEC_KEYS
from tests.support.clock import needs_real_clock
from workflows.loan.state import Stage, Status

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def split_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Process, Process]]:
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("worker-roles"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS, workers=0
    )
    with running(config) as stack:
        workflows = stack.start_worker(0, WORKER_ROLE="workflows")
        activities = stack.start_worker(1, WORKER_ROLE="activities")
        yield stack, workflows, activities


async def test_a_workflows_worker_and_an_activities_worker_complete_a_loan_between_them(
    split_workers: tuple[LocalStack, Process, Process], tmp_path: Path
) -> None:
    stack, workflows, activities = split_workers
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    client = await connect(settings, codec=stack.config.codec_settings())
    service = LoanService(client, stack.config.task_queue)
    rng = random.Random()
    request = sample_request(COMPLETES, cpf=sample_cpf(1, rng), stamp=str(rng.randrange(10**9)), documents_dir=tmp_path)
    key = (await service.start(request)).workflow_id.removeprefix("loan-")

    state = await service.wait_until(key, lambda s: s.stage == Stage.AWAITING_SIGNATURE or s.closed, seconds=120)
    assert state.stage == Stage.AWAITING_SIGNATURE, state.outcome_reason
    await service.submit_signature(key, signature_now())
    assert (await service.wait_until(key, lambda s: s.closed, seconds=120)).status == Status.COMPLETED

    workflow_identities: set[str] = set()
    activity_identities: set[str] = set()
    local_activities = 0
    async for event in client.get_workflow_handle(f"loan-{key}").fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            workflow_identities.add(event.workflow_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            activity_identities.add(event.activity_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            local_activities += event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    assert workflow_identities == {f"worker-{workflows.popen.pid}"}
    assert activity_identities == {f"worker-{activities.popen.pid}"}
    assert local_activities >= 1  # the sales channel's events: run by the workflows worker, which has no others
    assert workflows.popen.poll() is None and activities.popen.poll() is None
