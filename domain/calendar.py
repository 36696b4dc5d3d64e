"""The Brazilian bank calendar the provider uses for due dates and ``workdays``.

Base: national public holidays from the maintained ``holidays`` library, plus the bank closings it
files as optional (Carnival Monday and Tuesday, Corpus Christi). The provider's own deviations are
explicit, configurable rules — the seeds (004) show it treats 20 November 2024 (Black Awareness
Day, a national holiday since Lei 14.759/2023) as a business day, and 24 and 31 December as
business days; with 20 November as a holiday, 12 of the 96 ``workdays`` counts in seed 004 break.
Whether later years keep that deviation is unknown, so it is a setting with the seeds' default.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
"""The provider's and Dataprev's clock: every date a loan decides by is a São Paulo date."""

NATIONAL_DAY_OF_BLACK_AWARENESS = "National Day of Zumbi and Black Awareness"


@dataclass(frozen=True)
class CalendarRules:
    """Which days close the banks, beyond national public holidays."""

    bank_closings_from_optional: frozenset[str] = frozenset({"Carnival", "Corpus Christi"})
    ignored_holidays: frozenset[str] = frozenset({NATIONAL_DAY_OF_BLACK_AWARENESS})
    extra_closed_dates: frozenset[date] = frozenset()
    extra_open_dates: frozenset[date] = frozenset()
    first_year: int = 2015
    last_year: int = 2060


@dataclass(frozen=True)
class BankCalendar:
    rules: CalendarRules = field(default_factory=CalendarRules)

    @cached_property
    def closed_days(self) -> frozenset[date]:
        years = range(self.rules.first_year, self.rules.last_year + 1)
        public = holidays.country_holidays("BR", years=years, categories=("public",), language="en_US")
        optional = holidays.country_holidays("BR", years=years, categories=("optional",), language="en_US")
        closed = {d for d, name in public.items() if name not in self.rules.ignored_holidays}
        closed |= {d for d, name in optional.items() if name in self.rules.bank_closings_from_optional}
        closed |= self.rules.extra_closed_dates
        closed -= self.rules.extra_open_dates
        return frozenset(closed)

    @cached_property
    def _sorted_closed_weekdays(self) -> list[int]:
        return sorted(d.toordinal() for d in self.closed_days if d.weekday() < 5)

    def _check_range(self, day: date) -> None:
        if not self.rules.first_year <= day.year <= self.rules.last_year:
            raise ValueError(f"{day} is outside the calendar's years {self.rules.first_year}-{self.rules.last_year}")

    def is_business_day(self, day: date) -> bool:
        self._check_range(day)
        return day.weekday() < 5 and day not in self.closed_days

    def next_business_day(self, day: date) -> date:
        """The day itself if it is a business day, else the next one."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (the provider's ``workdays``)."""
        if end <= start:
            return 0
        self._check_range(start)
        self._check_range(end)
        return self._weekdays_upto(end) - self._weekdays_upto(start) - self._closed_between(start, end)

    @staticmethod
    def _weekdays_upto(day: date) -> int:
        ordinal = day.toordinal()  # ordinal 1 (0001-01-01) is a Monday
        weeks, rest = divmod(ordinal, 7)
        return weeks * 5 + min(rest, 5)

    def _closed_between(self, start: date, end: date) -> int:
        closed = self._sorted_closed_weekdays
        return bisect_right(closed, end.toordinal()) - bisect_right(closed, start.toordinal())


def end_of_day(day: date) -> datetime:
    """The last instant of a calendar day in São Paulo (the provider's and Dataprev's clock)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SAO_PAULO)


DEFAULT_CALENDAR = BankCalendar()
