"""The recovery job's Temporal Schedule, created or updated by the set-up job (idempotent)."""

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

from workflows.recovery.contract import RECOVERY_EVERY, RECOVERY_SCHEDULE_ID, RECOVERY_WORKFLOW, RecoveryInput


def recovery_schedule(task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RECOVERY_WORKFLOW, RecoveryInput(), id=RECOVERY_SCHEDULE_ID, task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=RECOVERY_EVERY)]),
        # A run still going when the next is due makes the next one pointless.
        policy=SchedulePolicy(overlap=Overlap.SKIP),
    )


async def ensure_recovery_schedule(client: Client, task_queue: str) -> bool:
    """True when it created the schedule; an existing one is brought to this definition."""
    wanted = recovery_schedule(task_queue)
    try:
        await client.create_schedule(RECOVERY_SCHEDULE_ID, wanted)
        return True
    except ScheduleAlreadyRunningError:

        async def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(RECOVERY_SCHEDULE_ID).update(update)
        return False
