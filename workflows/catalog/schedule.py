"""The provider-table refresh Schedules (a product table per polled provider, the CTC participants per
portability provider), created or updated by the set-up job."""

from __future__ import annotations

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

TABLE_PROVIDERS = tuple(p for p, able in CAPABILITIES.items() if not able.webhooks)
"""Providers whose loans price from a product table (the polled ones)."""

REFRESHED_TABLES: tuple[tuple[ProviderId, str], ...] = (
    *((p, REFRESH_PRODUCTS) for p in TABLE_PROVIDERS),
    *((p, REFRESH_CTC_PARTICIPANTS) for p, able in CAPABILITIES.items() if Product.PORTABILITY in able.products),
)
"""Each provider table a Schedule keeps fresh in the store: (provider, its refresh activity)."""


def refresh_schedule(provider: ProviderId, refresh: str, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PRODUCT_TABLE_WORKFLOW,
            RefreshInput(provider=provider, refresh=refresh),
            id=schedule_id(provider, refresh),
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=REFRESH_EVERY)]),
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )


async def ensure_refresh_schedules(client: Client, task_queue: str) -> list[str]:
    """The schedules it created (existing ones are brought to this definition)."""
    created = []
    for provider, refresh in REFRESHED_TABLES:
        wanted, scheduled = refresh_schedule(provider, refresh, task_queue), schedule_id(provider, refresh)
        try:
            await client.create_schedule(scheduled, wanted, trigger_immediately=True)
            created.append(scheduled)
        except ScheduleAlreadyRunningError:

            async def update(_: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=wanted)

            await client.get_schedule_handle(scheduled).update(update)
    return created
