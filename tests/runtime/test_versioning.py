"""Worker Versioning on the real dev server: a second build rolls out while loans run.

Loans auto-upgrade by default (``WorkerSettings.deployment``): a running loan moves to the new
current build at its next workflow task. A loan started pinned (an operator's explicit choice, e.g.
for a canary) finishes on the build it started on. Which build ran each step is read back from the
server (the execution's versioning info) and from the activities each build's worker ran.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import PinnedVersioningOverride, VersioningBehavior, WorkerDeploymentVersion
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from devtools.devstack.stack import LocalStack
from ops.promote_build import promote
from runtime.settings import WorkerSettings
from starter.client import start_loan_workflow
from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from tests.support.temporal import eventually
from tests.workflows.loan.conftest import Loan
from workflows.loan.contract import LoanInput, loan_workflow_id
from workflows.loan.rules import current_rules
from workflows.loan.state import Stage, Status
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import workflow_runner

pytestmark = pytest.mark.integration


async def _build_of(handle: WorkflowHandle[Any, Any]) -> str:
    described = await handle.describe()
    return described.raw_description.workflow_execution_info.versioning_info.deployment_version.build_id


async def _finish(loan: Loan) -> Status:
    await loan.handle.execute_update(LoanWorkflow.submit_signature, _signature())
    await loan.send(webhooks.debt(loan.fake.debt_key, "signature_received"))
    await loan.at(Stage.AVERBACAO, seconds=30)
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT, seconds=30)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    outcome: Any = await asyncio.wait_for(loan.handle.result(), 30)
    return Status(outcome.status)


def _signature() -> Any:
    from tests.workflows.loan.conftest import signature

    return signature()


async def test_a_second_build_rolls_out_while_loans_run(stack: LocalStack, tmp_path: Path) -> None:
    client = await Client.connect(stack.config.temporal_address, data_converter=pydantic_data_converter)
    deployment, queue = f"loans-{uuid.uuid4().hex[:8]}", f"versioning-{uuid.uuid4()}"
    fakes = {"build-a": FakeProvider(), "build-b": FakeProvider()}

    def worker(build_id: str) -> Worker:
        settings = WorkerSettings(deployment_name=deployment, build_id=build_id)
        return Worker(
            client,
            task_queue=queue,
            workflows=[LoanWorkflow],
            workflow_runner=workflow_runner(),
            activities=fakes[build_id].activities(),
            deployment_config=settings.deployment(),
        )

    async def start(name: str, fake: FakeProvider, **options: Any) -> Loan:
        request = loan_request(documents=document_files(tmp_path / name))
        handle = await start_loan_workflow(
            client,
            LoanInput(request=request, rules=current_rules()),
            id=loan_workflow_id(request.request_key),
            task_queue=queue,
            **options,
        )
        return Loan(env=None, fake=fake, handle=handle, request=request)  # type: ignore[arg-type]

    async with AsyncExitStack() as workers:
        await workers.enter_async_context(worker("build-a"))
        await promote(client, deployment, "build-a")
        pinned_to_a = WorkerDeploymentVersion(deployment_name=deployment, build_id="build-a")
        pinned = await start("pinned", fakes["build-a"], versioning_override=PinnedVersioningOverride(pinned_to_a))
        upgrading = await start("upgrading", fakes["build-a"])
        for loan in (pinned, upgrading):
            await loan.consulted()
            await loan.at(Stage.AWAITING_SIGNATURE, seconds=30)
            assert await _build_of(loan.handle) == "build-a"

        # Roll out build B while both loans wait for their signature.
        await workers.enter_async_context(worker("build-b"))
        await promote(client, deployment, "build-b")
        fresh = await start("fresh", fakes["build-b"])
        # Any event gives a loan a workflow task: the auto-upgrading one moves to B there; the
        # pinned one stays on A. (The server's routing reaches every matching partition within a moment.)
        for loan in (pinned, upgrading):
            await loan.send(webhooks.debt(loan.fake.debt_key, "waiting_signature"))

        async def upgraded() -> bool:
            await upgrading.send(webhooks.debt(upgrading.fake.debt_key, "waiting_signature"))
            return await _build_of(upgrading.handle) == "build-b"

        await eventually(upgraded, seconds=30, what="the auto-upgrading loan on build-b")
        assert await _build_of(pinned.handle) == "build-a"

        assert await _finish(pinned) == Status.COMPLETED
        assert await _finish(upgrading) == Status.COMPLETED
        assert await _build_of(pinned.handle) == "build-a"
        assert await _build_of(upgrading.handle) == "build-b"
        described = await upgrading.handle.describe()
        behavior = described.raw_description.workflow_execution_info.versioning_info.behavior
        assert behavior == VersioningBehavior.AUTO_UPGRADE.value

        # After the rollout, each loan's provider calls ran on the build it was on.
        signed_on = {build: fake.names().count("sign") for build, fake in fakes.items()}
        assert signed_on == {"build-a": 1, "build-b": 1}
        await fresh.consulted()
        await fresh.at(Stage.AWAITING_SIGNATURE, seconds=30)
        assert await _build_of(fresh.handle) == "build-b"
        assert [name for name, _ in fakes["build-a"].calls].count("request_benefits") == 2
