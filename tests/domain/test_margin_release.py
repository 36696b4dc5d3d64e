from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from domain.margin_release import REFUSAL_REASON
from domain.margin_release import margin_release as margin_release_after

DDB = date(2026, 9, 1)
RELEASE = DDB + timedelta(days=91)  # 2026-12-01


def margin_release(ddb: date, today: date, last_disbursement_date: date) -> Any:
    return margin_release_after(ddb, today, last_disbursement_date, block_days=90)


def test_an_old_benefit_is_not_blocked() -> None:
    decision = margin_release(date(2020, 1, 1), date(2026, 11, 22), date(2026, 11, 25))
    assert decision.allowed and not decision.blocked_today


def test_a_window_reaching_the_release_is_allowed_and_waits() -> None:
    decision = margin_release(DDB, today=date(2026, 11, 22), last_disbursement_date=RELEASE)
    assert decision.allowed and decision.blocked_today
    assert decision.release_date == RELEASE
    assert "waiting for the margin release on 01/12/2026" in decision.message


def test_a_window_ending_on_ddb_plus_90_is_refused_conservatively() -> None:
    decision = margin_release(DDB, today=date(2026, 11, 22), last_disbursement_date=DDB + timedelta(days=90))
    assert not decision.allowed
    assert REFUSAL_REASON in decision.message
    assert "the último dia para desembolso is 30/11/2026, before the margin release on 01/12/2026" in decision.message


def test_on_the_release_day_the_benefit_is_free() -> None:
    assert not margin_release(DDB, today=RELEASE, last_disbursement_date=RELEASE).blocked_today
    assert margin_release(DDB, today=RELEASE - timedelta(days=1), last_disbursement_date=RELEASE).blocked_today
