"""Rules pinned per loan: a regulation change reaches new loans, never a running one; a loan whose
caller sent no rules pins the worker's (recorded in its history, behind ``workflow.patched``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import workflows.loan.rules
from domain.inss import AVERBACAO_ERRORS, LenderAction
from starter.client import start_loan_workflow
from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from tests.support.temporal import task_queue
from tests.workflows.loan.conftest import Loan, record_history
from workflows.loan.contract import LoanInput, loan_workflow_id
from workflows.loan.intake import RULES_PINNED_BY_WORKER
from workflows.loan.rules import CURRENT_RULES_NAME, current_rules
from workflows.loan.state import Stage, Status
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import workflow_runner

AN = "invalid_disbursement_account"


class Workers:
    """Workers this test starts and stops itself (one per queue, restartable)."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env
        self.running: dict[str, Worker] = {}

    async def start(self, queue: str, fake: FakeProvider) -> None:
        # No sticky cache: every workflow task replays the loan from its history, as a fresh worker would.
        worker = Worker(
            self.env.client,
            task_queue=queue,
            workflows=[LoanWorkflow],
            workflow_runner=workflow_runner(),
            activities=fake.activities(),
            max_cached_workflows=0,
        )
        await worker.__aenter__()
        self.running[queue] = worker

    async def stop(self, queue: str) -> None:
        await self.running.pop(queue).__aexit__(None, None, None)


@pytest.fixture
async def workers(env: WorkflowEnvironment) -> AsyncIterator[Workers]:
    started = Workers(env)
    yield started
    for queue in list(started.running):
        await started.stop(queue)


async def _start(env: WorkflowEnvironment, queue: str, fake: FakeProvider, folder: Path, **input_: Any) -> Loan:
    request = loan_request(documents=document_files(folder))
    handle = await start_loan_workflow(
        env.client,
        LoanInput(request=request, **input_),
        id=loan_workflow_id(request.request_key),
        task_queue=queue,
    )
    return Loan(env=env, fake=fake, handle=handle, request=request)


async def test_a_rule_change_reaches_new_loans_while_a_running_loan_keeps_its_own(
    env: WorkflowEnvironment, workers: Workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loan A starts under today's table (seed 004: AN cancels) and reaches the averbação.
    queue_a, fake_a = task_queue(), FakeProvider()
    await workers.start(queue_a, fake_a)
    loan_a = await _start(env, queue_a, fake_a, tmp_path / "a", rules=current_rules())
    await loan_a.averbada()
    await workers.stop(queue_a)

    # The table changes (AN becomes teimosinha), and the worker restarts with the new code: loan A
    # is replayed from its history by a worker that has never seen it.
    changed = tuple(
        row if row.enumerator != AN else type(row)(**{**row.__dict__, "action": LenderAction.RETRY})
        for row in AVERBACAO_ERRORS
    )
    monkeypatch.setattr(workflows.loan.rules, "AVERBACAO_ERRORS", changed)
    monkeypatch.setattr(workflows.loan.rules, "CURRENT_RULES_NAME", "regulation-after-the-change")
    await workers.start(queue_a, fake_a)

    # Loan B starts under the new table.
    queue_b, fake_b = task_queue(), FakeProvider()
    await workers.start(queue_b, fake_b)
    loan_b = await _start(env, queue_b, fake_b, tmp_path / "b", rules=current_rules())
    await loan_b.averbada()

    await loan_a.send(webhooks.collateral_error(fake_a.debt_key, AN))
    await loan_b.send(webhooks.collateral_error(fake_b.debt_key, AN))

    state_a = await loan_a.at(Stage.AWAITING_COLLATERAL_CORRECTION)
    assert state_a.rules_name == CURRENT_RULES_NAME
    assert state_a.last_dataprev is not None and state_a.last_dataprev.action == "cancel"

    state_b = await loan_b.state()
    assert state_b.rules_name == "regulation-after-the-change"
    assert state_b.stage == Stage.AVERBACAO
    assert state_b.last_dataprev is not None and state_b.last_dataprev.action == "retry"


async def test_a_loan_started_without_rules_pins_the_workers_rules(
    env: WorkflowEnvironment, workers: Workers, tmp_path: Path
) -> None:
    # What a caller that sends no rules gets (the temporal CLI, say): the worker's current rules,
    # recorded as the patch marker and a local activity's result, so every replay decides the same.
    queue, fake = task_queue(), FakeProvider()
    await workers.start(queue, fake)
    loan = await _start(env, queue, fake, tmp_path)
    await loan.averbada()
    assert (await loan.state()).rules_name == CURRENT_RULES_NAME
    await loan.send(webhooks.collateral_success(fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(fake.debt_key, "disbursed"))
    assert (await asyncio.wait_for(loan.handle.result(), 120)).status == Status.COMPLETED
    history = await loan.handle.fetch_history()
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    names = [m.marker_recorded_event_attributes.marker_name for m in markers]
    patches = [
        json.loads(m.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        if name == "core_patch"
        else None
        for m, name in zip(markers, names, strict=True)
    ]
    pinned = patches.index(RULES_PINNED_BY_WORKER)
    # The patches are asked first (LoanRun.decide_patches); the rules come in a local activity's marker after.
    assert "core_local_activity" in names[pinned + 1 :]
    await record_history(loan.handle)


def test_todays_rules_pin_both_averbacao_tables() -> None:
    # Seed 004's table for new credit (AN, IR cancel; HX confirms); seed 002's Port+Refin table for a
    # portability's legs: every error teimosinha but HX ("Confirmar averbação").
    rules = current_rules()
    assert rules.averbacao_action(AN) == LenderAction.CANCEL
    assert rules.averbacao_action("operation_not_allowed_IR") == LenderAction.CANCEL
    assert rules.port_refin_averbacao_actions is not None
    for row in AVERBACAO_ERRORS:
        expected = LenderAction.CONFIRM if row.code == "HX" else LenderAction.RETRY
        assert rules.averbacao_action(row.enumerator, port_refin=True) == expected, row.code
