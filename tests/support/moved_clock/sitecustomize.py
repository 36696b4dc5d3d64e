"""Run by Python at the start of every process of a test session that moved the calendar
(tests/support/clock.py puts this folder on PYTHONPATH): move this process's wall clock by
``CONSIGNADO_TEST_CLOCK_OFFSET_DAYS`` whole days (time-machine, ticking).

Only the wall clock moves (``datetime.now``, ``date.today``, ``time.time``); ``time.monotonic`` does
not, so timeouts and event loops keep real durations.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

_offset = os.environ.get("CONSIGNADO_TEST_CLOCK_OFFSET_DAYS")
if _offset:
    import time_machine

    TRAVELLER = time_machine.travel(datetime.now(UTC) + timedelta(days=int(_offset)), tick=True)
    TRAVELLER.start()
