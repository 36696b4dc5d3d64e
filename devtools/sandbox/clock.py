"""The sandboxes' one clock: their notion of "now", and so of today, for every date they reason about
(a debt's DDB block, a proposal's disbursement day, a webhook's event time, the signature timestamps).

Two things move it, both for tests:
- ``SANDBOX_TODAY`` (a date, read at start by both sandboxes): the day the sandbox believes it is, at
  the real time of day. The suite sets it when it runs on a moved calendar (``CONSIGNADO_TEST_TODAY``),
  so the sandbox and the test process agree on the date.
- ``PUT /_sandbox/clock``: a further offset (a number of days, or a day to be), so a benefit's 90 days
  pass for the provider as they pass for a time-skipping test server, or a test fixes the day it
  reasons about.
Timers and delays stay on the real clock: they are durations, not dates.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic_settings import BaseSettings, SettingsConfigDict

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


class ClockSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANDBOX_")

    today: date | None = None


class SandboxClock:
    def __init__(self) -> None:
        self.base = timedelta(0)  # SANDBOX_TODAY, fixed at start
        self.offset = timedelta(0)  # PUT /_sandbox/clock, kept in the sandbox's state file

    def start(self, today: date | None = None) -> None:
        """Believe it is ``today`` (default: ``SANDBOX_TODAY``, else the real date)."""
        today = today or ClockSettings().today
        self.base = timedelta(0) if today is None else timedelta(days=(today - self._real().date()).days)

    def _real(self) -> datetime:
        return datetime.now(SAO_PAULO)

    def now(self) -> datetime:
        """The provider's business time: its dates, its webhooks' event times."""
        return self._real() + self.base + self.offset

    def wall(self) -> datetime:
        """The time its signatures carry and check: moved with ``SANDBOX_TODAY`` (the whole test moved
        with it), not by ``PUT /_sandbox/clock`` (the lender's gateway keeps the real time)."""
        return self._real() + self.base

    def today(self) -> date:
        return self.now().date()

    def move_to(self, today: date) -> None:
        """Make ``today`` the sandbox's date from now on (the time of day stays real)."""
        self.offset += timedelta(days=(today - self.today()).days)


CLOCK = SandboxClock()


def now() -> datetime:
    return CLOCK.now()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in São Paulo: the end of a disbursement window's last day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SAO_PAULO)
