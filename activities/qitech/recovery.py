"""The provider's resend API, called by the recovery job: list every callback that failed within the
look-back (every page of the listing, read whole before anything is resent, so a resent event leaving
the "failed" listing cannot shift a later page past another), then ask for each one again. The provider
delivers them to the gateway like any webhook, so they reach the inbox verified and deduplicated (an
event the inbox already holds is a no-op)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities.qitech.client import ProviderClient
from activities.qitech.errors import ProviderBusinessError
from activities.qitech.models.notifications import RESEND_WINDOW_DAYS
from workflows.recovery.contract import RESEND_FAILED_WEBHOOKS, RecoveryOutcome, ResendRound

FAILED = "failed"
RESEND_WINDOW = timedelta(days=RESEND_WINDOW_DAYS)


class RecoveryActivities:
    def __init__(self, provider: ProviderClient) -> None:
        self._provider = provider

    @activity.defn(name=RESEND_FAILED_WEBHOOKS)
    async def resend_failed_webhooks(self, round_: ResendRound) -> RecoveryOutcome:
        end = datetime.now(UTC)
        start = end - min(round_.look_back, RESEND_WINDOW)
        pages: list[int] = []

        def page_read(page: int) -> None:
            pages.append(page)
            activity.heartbeat(f"page {page}")

        events = await self._provider.notification_events(
            start=start, end=end, callback_status=FAILED, on_page=page_read
        )
        outcome = RecoveryOutcome(failed_events=len(events), pages=len(pages), listed=[e.event_key for e in events])
        if not round_.resend:
            return outcome
        skip = set(round_.skip)
        for event in events:
            if event.event_key in skip:
                continue
            for callback in event.callbacks:
                if callback.callback_status not in (None, FAILED):
                    continue
                try:
                    await self._provider.resend_callback(event.event_key, callback.callback_key)
                except ProviderBusinessError as refused:
                    # Refused (not unavailable: that raises, and the activity is retried): reported,
                    # and not asked again by this run; the others go on.
                    outcome.problems.append(f"{event.event_key}: {refused.code or refused.status}")
                    outcome.refused.append(event.event_key)
                    continue
                outcome.resent += 1
            activity.heartbeat(outcome.resent)
        return outcome
