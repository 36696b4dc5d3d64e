"""The provider's resend API, called by the recovery job: list the callbacks that failed within the
look-back, ask for each one again. The provider then delivers them to the gateway like any webhook,
so they reach the inbox verified and deduplicated (an event the inbox already holds is a no-op)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities.qitech.client import ProviderClient
from activities.qitech.errors import ProviderBusinessError
from activities.qitech.models.notifications import RESEND_WINDOW_DAYS
from workflows.recovery.contract import RESEND_FAILED_WEBHOOKS, RecoveryInput, RecoveryOutcome

FAILED = "failed"
RESEND_WINDOW = timedelta(days=RESEND_WINDOW_DAYS)


class RecoveryActivities:
    def __init__(self, provider: ProviderClient) -> None:
        self._provider = provider

    @activity.defn(name=RESEND_FAILED_WEBHOOKS)
    async def resend_failed_webhooks(self, recovery: RecoveryInput) -> RecoveryOutcome:
        end = datetime.now(UTC)
        start = end - min(recovery.look_back, RESEND_WINDOW)
        events = await self._provider.notification_events(start=start, end=end, callback_status=FAILED)
        outcome = RecoveryOutcome(failed_events=len(events))
        for event in events:
            for callback in event.callbacks:
                if callback.callback_status not in (None, FAILED):
                    continue
                try:
                    await self._provider.resend_callback(event.event_key, callback.callback_key)
                except ProviderBusinessError as refused:
                    # One refused resend must not stop the others; it is reported, not retried.
                    outcome.problems.append(f"{event.event_key}: {refused.code or refused.status}")
                    continue
                outcome.resent += 1
            activity.heartbeat(outcome.resent)
        return outcome
