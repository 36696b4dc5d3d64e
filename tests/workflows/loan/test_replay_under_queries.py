"""The paths this issue added replay when a query rebuilds the loan from its history (a worker with
no cache replays on every task and query). A patch first checked after a local activity of the same
workflow task does not: the refinancing's "releases nothing" patch is asked before the simulation's
local activity, and the second-provider-only path (after the admission's local activity) has none."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.loan import ProviderId
from starter.client import start_loan_workflow
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from tests.support.temporal import task_queue
from tests.workflows.loan.conftest import Loan
from tests.workflows.loan.test_polling import POLICY, FakeSecondProvider
from workflows.loan.contract import LoanInput, LoanOutcome
from workflows.loan.rules import current_rules
from workflows.loan.state import Status
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import workflow_runner


async def _queried_to_its_end(handle: WorkflowHandle[Any, Any]) -> LoanOutcome:
    """Query the loan while it runs (each query replays its whole history), then its outcome."""
    result = asyncio.ensure_future(handle.result())
    while not result.done():
        await handle.query(LoanWorkflow.query_state)
        await asyncio.sleep(0.05)
    outcome: LoanOutcome = await asyncio.wait_for(result, 120)
    await handle.query(LoanWorkflow.query_state)  # and once more, closed
    return outcome


async def test_a_refinancing_that_releases_nothing_replays_under_queries(
    env: WorkflowEnvironment, tmp_path: Any
) -> None:
    fake = FakeProvider(payoff=Decimal("11500.00"))  # all the fake's option disburses
    request = loan_request(
        documents=document_files(tmp_path),
        product="refinancing",
        refinanced_operations=[{"operation_key": str(uuid.uuid4()), "installment_value": "120.00"}],
    )
    queue = task_queue()
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[LoanWorkflow],
        workflow_runner=workflow_runner(),
        activities=fake.activities(),
        max_cached_workflows=0,
    ):
        handle = await start_loan_workflow(
            env.client,
            LoanInput(request=request, rules=current_rules(POLICY)),
            id=f"loan-{request.request_key}",
            task_queue=queue,
        )
        await Loan(env=env, fake=fake, handle=handle, request=request).consulted()
        outcome = await _queried_to_its_end(handle)
    assert outcome.status == Status.REJECTED
    assert outcome.reason is not None and outcome.reason.startswith("refinancing releases nothing")


async def test_a_second_provider_only_loan_replays_under_queries(env: WorkflowEnvironment) -> None:
    second, first = FakeSecondProvider(), FakeProvider()
    request = loan_request(benefit={"number": "2052711150", "state": "SP", "assistance_type": "retirement_by_age"})
    queue = task_queue()
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[LoanWorkflow],
        workflow_runner=workflow_runner(),
        activities=second.activities(first),
        max_cached_workflows=0,
    ):
        handle = await start_loan_workflow(
            env.client,
            LoanInput(request=request, rules=current_rules(POLICY), provider=ProviderId.PROVIDER_B, in100=False),
            id=f"loan-{request.request_key}",
            task_queue=queue,
        )
        outcome = await _queried_to_its_end(handle)
    assert (outcome.status, outcome.reason) == (Status.COMPLETED, "disbursed")
