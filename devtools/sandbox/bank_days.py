"""The sandbox's bank calendar: which days an installment may fall due on, and how many workdays a period
has (the ``workdays`` its answers print).

Read from seed 004's answers, not from the lender's calendar: its due dates roll forward from a weekend
or a holiday to the next workday (2025-04-20, a Sunday, and Tiradentes on the 21st: due 2025-04-22), and
its ``workdays`` count Carnival Monday and Tuesday as holidays (2025-02-20 → 2025-03-20: 18) but not the
national Black Awareness Day, 20 November (2024-11-07 → 2025-01-20: 49; 2024-11-05 → 2024-12-09: 23) —
the provider's calendar had not taken it when those answers were made, and the sandbox keeps it so.
Good Friday and Corpus Christi, which no answer of the seeds crosses, are the national bank holidays
they are.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

FIXED_HOLIDAYS = ((1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25))
"""Confraternização, Tiradentes, Trabalho, Independência, Aparecida, Finados, República, Natal."""

EASTER_OFFSETS = (-48, -47, -2, 60)
"""Carnival Monday and Tuesday, Good Friday, Corpus Christi: days from Easter Sunday."""


def easter(year: int) -> date:
    """Easter Sunday (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def holidays(year: int) -> frozenset[date]:
    sunday = easter(year)
    return frozenset(
        {date(year, month, day) for month, day in FIXED_HOLIDAYS}
        | {sunday + timedelta(days=offset) for offset in EASTER_OFFSETS}
    )


def is_workday(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


def next_workday(day: date) -> date:
    """``day`` itself when it is a workday, else the first workday after it."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def workdays_between(start: date, end: date) -> int:
    """Workdays after ``start`` up to and including ``end``."""
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=n)))
