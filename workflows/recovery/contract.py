"""The recovery job's contract: names, ids, its input and output, and its one activity's round."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey

RECOVERY_WORKFLOW = "WebhookRecovery"
RECOVERY_SCHEDULE_ID = "webhook-recovery"
RECOVERY_EVERY = timedelta(hours=1)
LOOK_BACK = timedelta(days=1)
"""The provider gives up on a callback after 3 retries 5 minutes apart; asking hourly for a day's
failures means an outage of any length below a day (and the job's own downtime) loses nothing."""
RESEND_ROUNDS = 3
SETTLE = timedelta(minutes=20)
"""A run resends every failed callback, waits longer than the provider's own 3 × 5-minute retries of a
resent callback, and asks again, ``RESEND_ROUNDS`` times; what is still failed after the last round, or
whose resend the provider refused, is unrecoverable by the job and shown to an operator (the run's
outcome and ``WEBHOOKS_UNRECOVERED``). An assumption: the provider publishes no resend policy."""

WEBHOOKS_UNRECOVERED = SearchAttributeKey.for_int("WebhooksUnrecovered")
"""On a recovery run: how many callbacks it could not get delivered (an operator alerts on > 0)."""


class RecoveryInput(BaseModel):
    # Only this: the set-up job's Schedule sends it in clear, and the codec lets exactly these fields
    # through (runtime.codec.settings.SCHEDULED_CLEAR_INPUTS); the rounds are the constants above.
    look_back: timedelta = LOOK_BACK


class ResendRound(BaseModel):
    """One round of the activity: list every failed callback (every page) and, unless ``resend`` is
    off (the run's last look), ask for each again — but not those in ``skip`` (refused before)."""

    look_back: timedelta = LOOK_BACK
    resend: bool = True
    skip: list[str] = Field(default_factory=list)


class RecoveryOutcome(BaseModel):
    """No PII: event keys, event types and provider codes only."""

    failed_events: int = 0  # failed callbacks' events listed by the first round
    resent: int = 0
    problems: list[str] = Field(default_factory=list)
    pages: int = 0  # pages of the resend API's listing read
    listed: list[str] = Field(default_factory=list)  # a round: the event keys it found failed
    refused: list[str] = Field(default_factory=list)  # a round: the event keys whose resend was refused
    rounds: int = 0
    unrecoverable: list[str] = Field(default_factory=list)  # the run: still failed after it, or refused


RESEND_FAILED_WEBHOOKS = "resend_failed_webhooks"
"""The activity a recovery run calls (``activities.qitech.recovery``), by its registered name."""
