"""The product-table refresh Schedules (one per polled provider), created or updated by the set-up job."""

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

from domain.loan import ProviderId
from loan.port import CAPABILITIES

from .contract import PRODUCT_TABLE_WORKFLOW, REFRESH_EVERY, RefreshInput, schedule_id

TABLE_PROVIDERS = tuple(p for p, able in CAPABILITIES.items() if not able.webhooks)
"""Providers whose loans price from a product table (the polled ones)."""


def refresh_schedule(provider: ProviderId, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PRODUCT_TABLE_WORKFLOW, RefreshInput(provider=provider), id=schedule_id(provider), task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=REFRESH_EVERY)]),
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )


async def ensure_refresh_schedules(client: Client, task_queue: str) -> list[str]:
    """The schedules it created (existing ones are brought to this definition)."""
    created = []
    for provider in TABLE_PROVIDERS:
        wanted = refresh_schedule(provider, task_queue)
        try:
            await client.create_schedule(schedule_id(provider), wanted, trigger_immediately=True)
            created.append(schedule_id(provider))
        except ScheduleAlreadyRunningError:

            async def update(_: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=wanted)

            await client.get_schedule_handle(schedule_id(provider)).update(update)
    return created
