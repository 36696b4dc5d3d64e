"""The calendar the suite runs on.

Unset, it is the real one. ``CONSIGNADO_TEST_TODAY=YYYY-MM-DD`` moves it: this process and every Python
process a test starts (sandboxes, codec server, CLI, gateway) believe it is that day, at the real time
of day, by the same whole number of days (``time-machine``, started in each process by the
``sitecustomize`` in ``moved_clock/``, which this module puts on ``PYTHONPATH``). ``dev.py test`` runs
the suite once on the real calendar and then again on fixed dates that stress a bank calendar, so a
test whose figures silently follow today's date fails the day it is written.

Temporal's servers (a Go and a native Java binary) cannot be moved: a test that needs one is skipped on
a moved calendar (``needs_real_clock``) and runs on the real one. Those tests reason in the workflow's
own time (``workflow.now()``), not in fixed figures.
"""

from __future__ import annotations

import os
import runpy
from datetime import date, datetime
from pathlib import Path

import pytest

from domain.calendar import SAO_PAULO

TODAY_VARIABLE = "CONSIGNADO_TEST_TODAY"
OFFSET_VARIABLE = "CONSIGNADO_TEST_CLOCK_OFFSET_DAYS"  # what the child processes apply
MOVED_CLOCK_PATH = Path(__file__).parent / "moved_clock"
_moved: dict[str, object] | None = None


def moved_today() -> date | None:
    value = os.environ.get(TODAY_VARIABLE)
    return date.fromisoformat(value) if value else None


def move_this_session() -> None:
    """Called once, first thing in the test session: fix the offset in days (so the processes started
    after a midnight agree with this one) and move this process and its children."""
    target = moved_today()
    if target is None:
        return
    if OFFSET_VARIABLE not in os.environ:
        os.environ[OFFSET_VARIABLE] = str((target - datetime.now(SAO_PAULO).date()).days)
        paths = [str(MOVED_CLOCK_PATH), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    global _moved  # noqa: PLW0603 - this process moves once
    if _moved is None:
        _moved = runpy.run_path(str(MOVED_CLOCK_PATH / "sitecustomize.py"))


def needs_real_clock(what: str) -> None:
    """Skip the test on a moved calendar: ``what`` keeps the real clock."""
    if moved_today() is not None:
        pytest.skip(f"{what} keeps the real clock; this run moved the calendar to {moved_today()}")
