"""A time-skipping Temporal server per test, and a harness that plays the provider.

Per test, not per module: skipping time is global to a server, and the loans' dates are computed
from today's date, so a test must not inherit days another test skipped.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.qitech.models.webhooks import ReceivedWebhook
from activities.qitech.news import translate
from domain.loan import LoanRequest, SignatureSubmission
from starter.client import start_loan_workflow
from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.temporal import eventually, query_state, task_queue, time_skipping_environment
from workflows.loan.contract import LoanInput, LoanOutcome
from workflows.loan.rules import LoanPolicy, LoanRules, current_rules
from workflows.loan.state import LoanState, Stage
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import strict_workflow_runner


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await time_skipping_environment()
    yield environment
    await environment.shutdown()


@dataclass
class Loan:
    env: WorkflowEnvironment
    fake: FakeProvider
    handle: WorkflowHandle[Any, Any]
    request: LoanRequest

    async def state(self) -> LoanState:
        return await query_state(self.handle)  # type: ignore[no-any-return]

    async def at(self, stage: Stage, seconds: float = 15.0) -> LoanState:
        async def reached() -> LoanState | None:
            state = await self.state()
            return state if state.stage == stage else None

        return await eventually(reached, seconds=seconds, what=f"stage {stage.value}")

    async def send(self, event: ReceivedWebhook) -> None:
        """A webhook as the relay delivers it: in the loan's words (the adapter's edge)."""
        await self.handle.signal(LoanWorkflow.provider_event, translate(event))

    async def consulted(self, **balance: Any) -> None:
        """Answer both consultations with success, as the provider's webhooks would."""
        await eventually(lambda: self._has_call("request_benefits"), what="benefits request")
        await self.send(webhooks.benefits_success(self.fake.benefits_key, [self.request.benefit.number]))
        await eventually(lambda: self._has_call("request_balance"), what="balance request")
        await self.send(webhooks.balance_success(self.fake.balance_keys[0], self.request.benefit.number, **balance))

    async def _has_call(self, name: str) -> bool:
        return name in self.fake.names()

    async def signed(self) -> None:
        await self.at(Stage.AWAITING_SIGNATURE)
        await self.handle.execute_update("submit_signature", signature())
        await self.send(webhooks.debt(self.fake.debt_key, "signature_received"))

    async def averbada(self) -> None:
        await self.consulted()
        await self.signed()
        await self.at(Stage.AVERBACAO)

    async def outcome(self, seconds: float = 120.0) -> LoanOutcome:
        """The loan's end (time skips while it waits); a loan that never ends fails the test."""
        result: LoanOutcome = await asyncio.wait_for(self.handle.result(), seconds)
        await record_history(self.handle)
        return result


HISTORIES = Path(__file__).resolve().parents[2] / "histories"


async def record_history(handle: WorkflowHandle[Any, Any], suffix: str = "") -> None:
    """With RECORD_HISTORIES=1, keep this run's history (as the server stores it, gzipped JSON) for the
    replay test."""
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    test = os.environ["PYTEST_CURRENT_TEST"].split(" ")[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.split("::", 1)[1]) + (f".{suffix}" if suffix else "")
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    compact = json.dumps(json.loads(history.to_json()), separators=(",", ":"))
    (HISTORIES / f"{name}.json.gz").write_bytes(gzip.compress(compact.encode(), mtime=0))


def signature() -> SignatureSubmission:
    from datetime import datetime
    from decimal import Decimal

    from domain.calendar import SAO_PAULO

    return SignatureSubmission.model_validate(
        {
            "ip_address": "203.0.113.7",
            "signature_datetime": datetime.now(SAO_PAULO),
            "similarity_score": Decimal("0.97"),
            "biometry_analysis_reference": "serpro",
        }
    )


@pytest.fixture
async def start(env: WorkflowEnvironment) -> AsyncIterator[Any]:
    """``await start(request, fake=..., policy=..., rules=...)`` runs a loan on a worker with the fake
    provider, its rules pinned as the starter pins them (today's, or the ``rules`` given)."""
    workers: list[Worker] = []

    async def starter(
        request: LoanRequest,
        *,
        fake: FakeProvider | None = None,
        policy: LoanPolicy | None = None,
        rules: LoanRules | None = None,
    ) -> Loan:
        fake = fake or FakeProvider()
        queue = task_queue()
        worker = Worker(
            env.client,
            task_queue=queue,
            workflows=[LoanWorkflow],
            # The SDK's strict sandbox: a non-deterministic call on any path these tests reach raises
            # (the stack's workers run the shipped runner, workflows.runner).
            workflow_runner=strict_workflow_runner(),
            activities=fake.activities(),
        )
        await worker.__aenter__()
        workers.append(worker)
        handle = await start_loan_workflow(
            env.client,
            LoanInput(request=request, rules=rules or current_rules(policy)),
            id=f"loan-{request.request_key}",
            task_queue=queue,
        )
        return Loan(env=env, fake=fake, handle=handle, request=request)

    yield starter
    for worker in workers:
        await worker.__aexit__(None, None, None)
