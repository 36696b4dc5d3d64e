"""The recovery job's contract: names, ids and its one input and output."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

RECOVERY_WORKFLOW = "WebhookRecovery"
RECOVERY_SCHEDULE_ID = "webhook-recovery"
RECOVERY_EVERY = timedelta(hours=1)
LOOK_BACK = timedelta(days=1)
"""The provider gives up on a callback after 3 retries 5 minutes apart; asking hourly for a day's
failures means an outage of any length below a day (and the job's own downtime) loses nothing."""


class RecoveryInput(BaseModel):
    look_back: timedelta = LOOK_BACK


class RecoveryOutcome(BaseModel):
    failed_events: int = 0
    resent: int = 0
    problems: list[str] = Field(default_factory=list)  # no PII: event keys and provider codes only


RESEND_FAILED_WEBHOOKS = "resend_failed_webhooks"
"""The activity a recovery run calls (``activities.qitech.recovery``), by its registered name."""
