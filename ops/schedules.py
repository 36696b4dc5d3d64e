"""The Temporal Schedules the set-up job keeps (idempotently: created, or brought to this definition):
the webhook recovery job, and a refresh per provider table (a product table per polled provider, the
CTC participants per portability provider). Each workflow's contract stays with it in ``workflows/``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.client import ScheduleOverlapPolicy as Overlap

from domain.loan import Product, ProviderId
from workflows.catalog.contract import PRODUCT_TABLE_WORKFLOW, REFRESH_EVERY, RefreshInput, schedule_id
from workflows.loan.port import CAPABILITIES, REFRESH_CTC_PARTICIPANTS, REFRESH_PRODUCTS
from workflows.recovery.contract import RECOVERY_EVERY, RECOVERY_SCHEDULE_ID, RECOVERY_WORKFLOW, RecoveryInput

TABLE_PROVIDERS = tuple(p for p, able in CAPABILITIES.items() if not able.webhooks)
"""Providers whose loans price from a product table (the polled ones)."""

REFRESHED_TABLES: tuple[tuple[ProviderId, str], ...] = (
    *((p, REFRESH_PRODUCTS) for p in TABLE_PROVIDERS),
    *((p, REFRESH_CTC_PARTICIPANTS) for p, able in CAPABILITIES.items() if Product.PORTABILITY in able.products),
)
"""Each provider table a Schedule keeps fresh in the store: (provider, its refresh activity)."""


def every(workflow: str, argument: BaseModel, workflow_id: str, task_queue: str, interval: timedelta) -> Schedule:
    """A workflow started every ``interval``; a run still going when the next is due makes it pointless."""
    return Schedule(
        action=ScheduleActionStartWorkflow(workflow, argument, id=workflow_id, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )


async def ensure(client: Client, schedule_id_: str, wanted: Schedule, *, trigger: bool = False) -> bool:
    """True when it created the schedule (and ran it once if ``trigger``); an existing one is updated."""
    try:
        await client.create_schedule(schedule_id_, wanted, trigger_immediately=trigger)
        return True
    except ScheduleAlreadyRunningError:

        async def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id_).update(update)
        return False


def recovery_schedule(task_queue: str) -> Schedule:
    return every(RECOVERY_WORKFLOW, RecoveryInput(), RECOVERY_SCHEDULE_ID, task_queue, RECOVERY_EVERY)


def refresh_schedule(provider: ProviderId, refresh: str, task_queue: str) -> Schedule:
    argument = RefreshInput(provider=provider, refresh=refresh)
    return every(PRODUCT_TABLE_WORKFLOW, argument, schedule_id(provider, refresh), task_queue, REFRESH_EVERY)


async def ensure_recovery_schedule(client: Client, task_queue: str) -> bool:
    return await ensure(client, RECOVERY_SCHEDULE_ID, recovery_schedule(task_queue))


async def ensure_refresh_schedules(client: Client, task_queue: str) -> list[str]:
    """The refresh schedules it created; each new one runs at once (a table is needed before its hour)."""
    created = []
    for provider, refresh in REFRESHED_TABLES:
        scheduled = schedule_id(provider, refresh)
        if await ensure(client, scheduled, refresh_schedule(provider, refresh, task_queue), trigger=True):
            created.append(scheduled)
    return created
