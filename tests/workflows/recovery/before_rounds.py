"""WebhookRecovery as it ran before its rounds (one resend, nothing checked after): a run of it in
flight at the deployment must replay on the new code (tests/workflows/recovery/test_until_delivered)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.recovery.contract import RECOVERY_WORKFLOW, RESEND_FAILED_WEBHOOKS, RecoveryInput, RecoveryOutcome


@workflow.defn(name=RECOVERY_WORKFLOW)
class RecoveryBeforeRounds:
    @workflow.run
    async def run(self, recovery: RecoveryInput) -> RecoveryOutcome:
        outcome: RecoveryOutcome = await workflow.execute_activity(
            RESEND_FAILED_WEBHOOKS,
            recovery,
            result_type=RecoveryOutcome,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=5),
        )
        return outcome
