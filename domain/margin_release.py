"""The 90-day DDB rule: a new benefit's margin is released only after DDB + 90 days.

Seed 004 §4: when 90 days have not passed since the DDB, ``disbursement_date +
limit_days_to_disburse`` must fall after DDB + 90, or the provider cancels permanently with
``social_security_margin_release_after_disbursement_end_date``. Whether the DDB counts as day 0
or day 1 is not stated, so this is conservative: the release day is DDB + 91 (the first day the
holder may unblock, IN 172/2024) and the last disbursement option must be on or after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain import ptbr

REFUSAL_REASON = "social_security_margin_release_after_disbursement_end_date"


@dataclass(frozen=True)
class MarginRelease:
    release_date: date  # the first day averbação can succeed
    blocked_today: bool  # the benefit is still inside its block days
    allowed: bool  # the disbursement window reaches the release
    message: str


def margin_release(ddb: date, today: date, last_disbursement_date: date, *, block_days: int) -> MarginRelease:
    """``block_days`` comes from the loan's pinned rules (domain.regulation.DDB_BLOCK_DAYS today)."""
    release = ddb + timedelta(days=block_days + 1)
    span = f"DDB {ptbr.day(ddb)} + {block_days} days"
    if today >= release:
        return MarginRelease(release, False, True, f"margin released since {ptbr.day(release)} ({span})")
    if last_disbursement_date >= release:
        return MarginRelease(release, True, True, f"waiting for the margin release on {ptbr.day(release)} ({span})")
    return MarginRelease(
        release,
        True,
        False,
        f"the {ptbr.LAST_DISBURSEMENT_DAY} is {ptbr.day(last_disbursement_date)}, before the margin release on "
        f"{ptbr.day(release)} "
        f"({span}, counting the DDB as day 0 to be safe): the provider would cancel it permanently "
        f"({REFUSAL_REASON})",
    )
