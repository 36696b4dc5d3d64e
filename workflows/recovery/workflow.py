"""WebhookRecovery: one run of the resend job (started by its Temporal Schedule, hourly).

A run resends every callback the provider gave up on, waits longer than the provider's own retries of
a resent callback (``SETTLE``), and looks again — ``RESEND_ROUNDS`` times. A callback delivered
meanwhile leaves the "failed" listing; one still failed after the last round, or whose resend the
provider refused, is unrecoverable by the job: the run's outcome names it (event keys only) and its
``WebhooksUnrecovered`` search attribute counts it, so an operator finds it (``WebhooksUnrecovered > 0``)
instead of a log line.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.recovery.contract import (
        RECOVERY_WORKFLOW,
        RESEND_FAILED_WEBHOOKS,
        RESEND_ROUNDS,
        SETTLE,
        WEBHOOKS_UNRECOVERED,
        RecoveryInput,
        RecoveryOutcome,
        ResendRound,
    )

UNTIL_DELIVERED = "recovery-until-delivered"
"""Runs started before: one resend of the first page, nothing checked after (kept replaying)."""


@workflow.defn(name=RECOVERY_WORKFLOW)
class WebhookRecovery:
    @workflow.run
    async def run(self, recovery: RecoveryInput) -> RecoveryOutcome:
        if not workflow.patched(UNTIL_DELIVERED):
            return await self._round(ResendRound(look_back=recovery.look_back))
        outcome = RecoveryOutcome()
        refused: set[str] = set()
        for attempt in range(RESEND_ROUNDS + 1):
            last = attempt == RESEND_ROUNDS  # the last look: what is still failed stays so
            found = await self._round(ResendRound(look_back=recovery.look_back, resend=not last, skip=sorted(refused)))
            if attempt == 0:
                outcome.failed_events = found.failed_events
            outcome.rounds = attempt + 1
            outcome.pages += found.pages
            outcome.resent += found.resent
            outcome.problems += found.problems
            refused |= set(found.refused)
            waiting = [key for key in found.listed if key not in refused]
            if last or not waiting:
                outcome.unrecoverable = sorted(refused | set(waiting))
                break
            await workflow.sleep(SETTLE)
        workflow.upsert_search_attributes([WEBHOOKS_UNRECOVERED.value_set(len(outcome.unrecoverable))])
        if outcome.unrecoverable:
            workflow.logger.warning(
                "%d webhook(s) the provider gave up on could not be recovered: %s",
                len(outcome.unrecoverable),
                ", ".join(outcome.unrecoverable[:20]),
            )
        return outcome

    async def _round(self, round_: ResendRound) -> RecoveryOutcome:
        found: RecoveryOutcome = await workflow.execute_activity(
            RESEND_FAILED_WEBHOOKS,
            round_,
            result_type=RecoveryOutcome,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=2),
            # A provider that stays unavailable fails the round; the next scheduled run asks again.
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=5),
        )
        return found
