"""A recovery run, on Temporal's time-skipping server, against a provider double whose failed callbacks
behave as scripted: it resends every failed callback, waits past the provider's own retries, looks
again, and keeps at it for its rounds — a callback delivered by a later resend is recovered; one still
failed after the last round, or whose resend the provider refuses, is named in the outcome and counted
by the run's ``WebhooksUnrecovered`` search attribute (what an operator alerts on)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.qitech.errors import ProviderBusinessError
from activities.qitech.models.notifications import NotificationCallback, NotificationEvent
from activities.qitech.recovery import RecoveryActivities
from tests.support.temporal import task_queue, time_skipping_environment
from tests.workflows.recovery.before_rounds import RecoveryBeforeRounds
from workflows.recovery.contract import (
    SETTLE,
    WEBHOOKS_UNRECOVERED,
    RecoveryInput,
    RecoveryOutcome,
)
from workflows.recovery.workflow import WebhookRecovery
from workflows.runner import workflow_runner


@dataclass
class Callback:
    """One failed callback: the resends that fail again before one delivers it (None: never), or
    refused (the provider answers 404 to its resend)."""

    event_key: str
    fails_again: int | None = 0
    refused: bool = False
    resends: int = 0
    delivered: bool = False


@dataclass
class ScriptedProvider:
    """The two calls the recovery makes, over scripted callbacks (listing: every page already read)."""

    callbacks: dict[str, Callback] = field(default_factory=dict)
    listings: int = 0

    def add(self, count: int = 1, **script: object) -> list[str]:
        keys = [str(uuid.uuid4()) for _ in range(count)]
        for key in keys:
            self.callbacks[key] = Callback(key, **script)  # type: ignore[arg-type]
        return keys

    async def notification_events(
        self, *, start: datetime, end: datetime, callback_status: str | None = None, on_page: Callable[[int], None]
    ) -> list[NotificationEvent]:
        assert callback_status == "failed" and end - start <= timedelta(days=14)
        self.listings += 1
        failed = [c for c in self.callbacks.values() if not c.delivered]
        for page in range(1, len(failed) // 25 + 2):
            on_page(page)
        return [
            NotificationEvent(
                event_key=c.event_key,
                event_type="debt",
                callbacks=[NotificationCallback(callback_key=f"cb-{c.event_key}", callback_status="failed")],
            )
            for c in failed
        ]

    async def resend_callback(self, event_key: str, callback_key: str) -> None:
        callback = self.callbacks[event_key]
        assert callback_key == f"cb-{event_key}"
        callback.resends += 1
        if callback.refused:
            raise ProviderBusinessError("no such event", status=404, code="NTF000002")
        if callback.fails_again is not None and callback.resends > callback.fails_again:
            callback.delivered = True


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await time_skipping_environment()
    try:
        yield environment
    finally:
        await environment.shutdown()


async def _run(client: Client, provider: ScriptedProvider, recovery: RecoveryInput) -> tuple[RecoveryOutcome, int]:
    queue = task_queue()
    resend = RecoveryActivities(provider).resend_failed_webhooks  # type: ignore[arg-type]
    worker = Worker(
        client, task_queue=queue, workflows=[WebhookRecovery], workflow_runner=workflow_runner(), activities=[resend]
    )
    async with worker:
        handle = await client.start_workflow(
            WebhookRecovery.run, recovery, id=f"webhook-recovery-{uuid.uuid4()}", task_queue=queue
        )
        outcome = await handle.result()
        described = await handle.describe()
    return outcome, described.typed_search_attributes.get(WEBHOOKS_UNRECOVERED)  # type: ignore[return-value]


async def test_every_failed_callback_is_resent_until_delivered_or_shown_as_unrecoverable(
    env: WorkflowEnvironment,
) -> None:
    provider = ScriptedProvider()
    at_once = provider.add(55)  # more than two of the provider's pages of 25
    second_time = provider.add(3, fails_again=1)  # the first resend fails again (the gateway still down)
    third_time = provider.add(2, fails_again=2)
    never = provider.add(2, fails_again=None)
    refused = provider.add(1, refused=True)

    started = await env.get_current_time()
    outcome, counted = await _run(env.client, provider, RecoveryInput())
    elapsed = await env.get_current_time() - started

    assert all(provider.callbacks[k].delivered and provider.callbacks[k].resends == 1 for k in at_once)
    assert all(provider.callbacks[k].delivered and provider.callbacks[k].resends == 2 for k in second_time)
    assert all(provider.callbacks[k].delivered and provider.callbacks[k].resends == 3 for k in third_time)
    # Still failed after the run's three resends, each past the provider's own retries: shown.
    assert all(not provider.callbacks[k].delivered and provider.callbacks[k].resends == 3 for k in never)
    assert provider.callbacks[refused[0]].resends == 1  # refused once: not asked again
    assert sorted(outcome.unrecoverable) == sorted(never + refused) and counted == 3
    assert outcome.failed_events == 63 and outcome.pages >= 3 and outcome.rounds == 4
    assert outcome.resent == 55 + 3 * 2 + 2 * 3 + 2 * 3
    assert outcome.problems == [f"{refused[0]}: NTF000002"]
    assert provider.listings == 4  # three resend rounds and a last look
    assert elapsed >= 3 * SETTLE  # each look waited past the provider's 3 x 5-minute retries


async def test_a_run_that_delivers_everything_at_once_looks_once_more_and_shows_nothing(
    env: WorkflowEnvironment,
) -> None:
    provider = ScriptedProvider()
    provider.add(30)
    outcome, counted = await _run(env.client, provider, RecoveryInput())
    assert outcome.unrecoverable == [] and counted == 0
    assert outcome.rounds == 2 and outcome.resent == 30 and provider.listings == 2


async def test_nothing_failed_nothing_resent(env: WorkflowEnvironment) -> None:
    outcome, counted = await _run(env.client, ScriptedProvider(), RecoveryInput())
    assert (outcome.failed_events, outcome.resent, outcome.rounds, outcome.unrecoverable, counted) == (0, 0, 1, [], 0)


async def test_a_run_started_before_the_rounds_still_replays(env: WorkflowEnvironment) -> None:
    provider = ScriptedProvider()
    provider.add(3)
    queue = task_queue()
    resend = RecoveryActivities(provider).resend_failed_webhooks  # type: ignore[arg-type]
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[RecoveryBeforeRounds],
        workflow_runner=workflow_runner(),
        activities=[resend],
    ):
        handle = await env.client.start_workflow(
            RecoveryBeforeRounds.run, RecoveryInput(), id=f"webhook-recovery-{uuid.uuid4()}", task_queue=queue
        )
        assert (await handle.result()).resent == 3
    history = await handle.fetch_history()
    await Replayer(workflows=[WebhookRecovery], data_converter=pydantic_data_converter).replay_workflow(history)
