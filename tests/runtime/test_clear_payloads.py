"""A production worker on a real dev server refuses payloads written without the codec key.

The stack here is the local one, except that the worker and the relay run in production mode
(``CONSIGNADO_ENV=production``, their own secrets, ``CODEC_REQUIRE_ENCRYPTED`` on by default). Shown:
a loan started through the codec runs; a loan started in clear by anyone who reaches the frontend
never gets to an activity (its workflow task fails, saying why); a forged provider event signalled
in clear into a running loan is dropped while the loan carries on; the Schedules the set-up job
created without a key keep running; and the worker's own refusals that come after its Temporal
connection (the store, the second provider) name their variable.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import ROOT, LocalStack, StackConfig
from ops.schedules import REFRESHED_TABLES
from runtime.settings import ENV_VARIABLE, TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX
from tests.support import webhooks
from tests.support.clock import needs_real_clock
from tests.support.temporal import eventually
from workflows.catalog.contract import schedule_id
from workflows.loan.contract import PROVIDER_EVENT_SIGNAL, LoanInput, loan_workflow_id
from workflows.loan.rules import current_rules
from workflows.loan.state import Stage, Status
from workflows.recovery.contract import RECOVERY_SCHEDULE_ID

pytestmark = pytest.mark.integration

PRODUCTION = {ENV_VARIABLE: "production"}


def _worker_env(config: StackConfig) -> dict[str, str]:
    return {
        **PRODUCTION,
        **config.provider_env(),
        "LENDER_PURCHASER_CNPJ": "11222333000181",  # its own assignee: never the provider's example
        "PROVIDER_B_BASE_URL": config.sandbox_b_url,
        "PROVIDER_B_USERNAME": config.provider_b_username,
        "PROVIDER_B_PASSWORD": config.provider_b_password,
    }


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("production"),
        workers=0,
        sandbox_env=FAST_SANDBOX,
        # Not the sandboxes' published defaults: a production worker would refuse those.
        provider_b_password="a-password-for-this-run",
    )
    stack = LocalStack(config)
    try:
        stack.migrate_store()
        # The set-up job's code registers the search attributes and creates the Schedules, with
        # clear inputs (it holds no codec key); the product-table refresh is due at once.
        stack.start_temporal()
        stack.start_gateway()
        relay = stack._spawn(
            "relay-production",
            [sys.executable, "-m", "webhooks.relay"],
            {**PRODUCTION, "RELAY_INBOX_PRIVATE_KEYS": config.inbox_private_key, "RELAY_POLL_SECONDS": "0.05"},
        )
        stack._wait_log(relay, "relay delivering", 0)
        stack.start_sandbox()
        stack.start_sandbox_b()
        stack.start_polling_process("worker-production", [sys.executable, str(ROOT / "worker.py")], _worker_env(config))
        yield stack
    finally:
        stack.stop()


async def _service(stack: LocalStack) -> LoanService:
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    return LoanService(await connect(settings, codec=stack.config.codec_settings()), stack.config.task_queue)


async def _without_the_key(stack: LocalStack) -> Client:
    """What anyone who reaches the frontend has: a client with no codec."""
    return await Client.connect(stack.config.temporal_address, data_converter=pydantic_data_converter)


def _worker_log(stack: LocalStack) -> str:
    return (stack.logs / "worker-production.log").read_text()


async def _events(handle: WorkflowHandle[Any, Any]) -> list[Any]:
    return [event async for event in handle.fetch_history_events()]


async def test_a_loan_runs_and_a_forged_event_in_clear_is_dropped(production: LocalStack, tmp_path: Path) -> None:
    service = await _service(production)
    request = sample_request(COMPLETES, cpf=sample_cpf(1, random.Random()), stamp="forged", documents_dir=tmp_path)
    await service.start(request)
    state = await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=90)
    assert state.debt_key and state.events  # activities ran and the relay's (encrypted) signals were read

    forged = webhooks.debt(state.debt_key, "disbursed")
    plain = await _without_the_key(production)
    await plain.get_workflow_handle(loan_workflow_id(request.request_key)).signal(PROVIDER_EVENT_SIGNAL, forged)
    # The control, sent after it with the key: read.
    genuine = webhooks.debt(state.debt_key, "waiting_signature")
    await service.handle(request.request_key).signal(PROVIDER_EVENT_SIGNAL, genuine)
    state = await service.wait_until(request.request_key, lambda s: genuine.event_id in s.seen_event_ids, seconds=30)
    assert forged.event_id not in state.seen_event_ids and not state.disbursed
    log = _worker_log(production)
    assert f"refused a payload that was not encrypted ({loan_workflow_id(request.request_key)}" in log
    assert "dropping the signal" in log

    # The loan is not stuck on the forged signal in its history: it goes on to its end.
    await service.submit_signature(request.request_key, signature_now())
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.COMPLETED and state.disbursed
    failed = [e for e in await _events(service.handle(request.request_key)) if e.event_type == _TASK_FAILED]
    assert not failed


_TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
_ACTIVITIES = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_MARKER_RECORDED,  # local activities
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
}


async def test_a_loan_started_in_clear_never_reaches_an_activity(production: LocalStack, tmp_path: Path) -> None:
    request = sample_request(COMPLETES, cpf=sample_cpf(1, random.Random()), stamp="clear", documents_dir=tmp_path)
    plain = await _without_the_key(production)
    handle = await plain.start_workflow(
        "LoanWorkflow",
        LoanInput(request=request, rules=current_rules()),
        id=loan_workflow_id(request.request_key),
        task_queue=production.config.task_queue,
    )

    async def refused() -> list[Any]:
        return [e for e in await _events(handle) if e.event_type == _TASK_FAILED]

    failures = await eventually(refused, seconds=60, what="the clear loan's workflow task failure")
    # The worker encrypts failure messages too: read it as an operator would, through the codec.
    keyed = (await _service(production)).client
    error: BaseException | None = await keyed.data_converter.decode_failure(
        failures[0].workflow_task_failed_event_attributes.failure
    )
    chain = []
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    message = " / ".join(chain)
    assert "not encrypted" in message and "CODEC_REQUIRE_ENCRYPTED" in message, message
    await asyncio.sleep(2)  # retried workflow tasks fail the same way; nothing else happens
    assert not [e for e in await _events(handle) if e.event_type in _ACTIVITIES]
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # operators see it, then end it
    await handle.terminate("forged: started without the codec key")


async def test_the_set_up_jobs_schedules_still_run(production: LocalStack) -> None:
    client = (await _service(production)).client
    # The refresh was due at the Schedule's creation, before the worker polled; trigger the recovery.
    await client.get_schedule_handle(RECOVERY_SCHEDULE_ID).trigger()
    for schedule in (RECOVERY_SCHEDULE_ID, *(schedule_id(*table) for table in REFRESHED_TABLES)):

        async def started(schedule: str = schedule) -> list[str]:
            described = await client.get_schedule_handle(schedule).describe()
            actions = [result.action for result in described.info.recent_actions]
            return [a.workflow_id for a in actions if isinstance(a, ScheduleActionExecutionStartWorkflow)]

        (run_id, *_) = await eventually(started, seconds=30, what=f"{schedule}'s first run")
        assert run_id.startswith(f"{schedule}-")
        # Its input was written in clear by the set-up job; the production worker reads it and finishes.
        await asyncio.wait_for(client.get_workflow_handle(run_id).result(), timeout=60)
        assert (await client.get_workflow_handle(run_id).describe()).status == WorkflowExecutionStatus.COMPLETED
    refusals = [line for line in _worker_log(production).splitlines() if "refused a payload" in line]
    assert not [
        line
        for line in refusals
        if RECOVERY_SCHEDULE_ID in line or "product-table" in line or "ctc-participants" in line
    ]


def _run_worker(
    stack: LocalStack, env: dict[str, str], *, drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **stack.config.common_env(), **env}
    for name in drop:
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, str(ROOT / "worker.py")],
        cwd=stack.config.data_dir,
        env=full,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.parametrize(
    ("change", "drop", "expected"),
    [
        ({}, ("DATABASE_URL",), "DATABASE_URL is not set"),
        ({"PROVIDER_B_PASSWORD": "dev-password-b-change-me"}, (), "PROVIDER_B_PASSWORD holds a development value"),
        ({"PROVIDER_B_PASSWORD": ""}, (), "PROVIDER_B_PASSWORD is not set"),
    ],
    ids=["no-database", "second-provider-default-password", "second-provider-no-password"],
)
def test_the_worker_refuses_what_it_reads_after_connecting(
    production: LocalStack, change: dict[str, str], drop: tuple[str, ...], expected: str
) -> None:
    finished = _run_worker(production, {**_worker_env(production.config), **change}, drop=drop)
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0 and expected in output, output[-3000:]
    assert "worker polling" not in output


def test_in_development_the_worker_starts_on_the_published_defaults(production: LocalStack) -> None:
    env = {
        ENV_VARIABLE: "development",
        "PROVIDER_BASE_URL": production.config.sandbox_url,
        "TEMPORAL_TASK_QUEUE": "fail-closed-development",  # polls apart from the production worker's loans
        "WORKER_GRACEFUL_SHUTDOWN_SECONDS": "1",
    }
    process = production.start_polling_process("worker-development", [sys.executable, str(ROOT / "worker.py")], env)
    try:
        assert process.popen.poll() is None  # polling, on dev-client-secret-change-me and no PROVIDER_B_PASSWORD
    finally:
        production.stop_process(process)
