"""The sandbox's one clock: it agrees with the test process on the date (moved calendar or not), and a
test can fix the day the sandbox reasons on."""

from __future__ import annotations

from datetime import date, datetime

from domain.calendar import SAO_PAULO
from tests.conftest import SandboxUnderTest
from tests.support.clock import moved_today


def _today(sandbox: SandboxUnderTest) -> date:
    with sandbox.admin() as admin:
        return date.fromisoformat(admin.get("/_sandbox/clock").json()["today"])


def test_the_sandbox_and_the_tests_agree_on_the_date(sandbox: SandboxUnderTest) -> None:
    ours = datetime.now(SAO_PAULO).date()
    if moved_today() is not None:
        assert ours == moved_today()  # this process moved too
    assert _today(sandbox) == ours


def test_a_test_fixes_the_day_the_sandbox_reasons_on(sandbox: SandboxUnderTest) -> None:
    with sandbox.on_day(date(2028, 2, 29)):
        assert _today(sandbox) == date(2028, 2, 29)
    assert _today(sandbox) == datetime.now(SAO_PAULO).date()
