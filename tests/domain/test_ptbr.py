"""How people read a loan's figures (domain.ptbr): every expected text here is written by hand, as a
Brazilian operator reads it — not produced by the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain import ptbr
from domain.calendar import SAO_PAULO, end_of_day
from workflows.loan.state import Stage


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.56"), "R$ 1.234,56"),
        (Decimal("250"), "R$ 250,00"),
        (Decimal("1234567.891"), "R$ 1.234.567,89"),
        (Decimal("0.005"), "R$ 0,01"),  # half-up, as the provider rounds money
        (Decimal("312.45"), "R$ 312,45"),
        (Decimal("-12"), "-R$ 12,00"),
        (None, "-"),
    ],
)
def test_money(value: Decimal | None, text: str) -> None:
    assert ptbr.money(value) == text


@pytest.mark.parametrize(
    ("fraction", "period", "text"),
    [
        (Decimal("0.0185"), ptbr.PER_MONTH, "1,85 % a.m."),
        (Decimal("0.0166"), ptbr.PER_MONTH, "1,66 % a.m."),
        (Decimal("0.018"), ptbr.PER_MONTH, "1,80 % a.m."),
        (Decimal("0.019900"), ptbr.PER_MONTH, "1,99 % a.m."),  # not 1.9900 %
        (Decimal("0.233325"), ptbr.PER_YEAR, "23,33 % a.a."),
        (Decimal("0.017595"), ptbr.PER_MONTH, "1,76 % a.m."),  # half-up
        (Decimal("0.2"), ptbr.PER_MONTH, "20,00 % a.m."),
        (None, ptbr.PER_MONTH, "-"),
    ],
)
def test_rates(fraction: Decimal | None, period: str, text: str) -> None:
    assert ptbr.rate(fraction, period) == text


@pytest.mark.parametrize(
    ("fraction", "text"),
    [
        (Decimal("0.0185"), "1,85 % a.m."),
        (Decimal("0.01851"), "1,851 % a.m."),  # just above a cap of 1,85 %: never shown as the cap
        (Decimal("0.0199"), "1,99 % a.m."),
        (Decimal("0.0123456789"), "1,234568 % a.m."),
    ],
)
def test_exact_rates_beside_a_cap(fraction: Decimal, text: str) -> None:
    assert ptbr.rate(fraction, exact=True) == text


def test_a_rate_above_its_cap() -> None:
    assert ptbr.rate_above_cap(Decimal("0.0199"), Decimal("0.0185")) == (
        "monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m."
    )


def test_dates_and_moments_are_sao_paulos() -> None:
    assert ptbr.day(date(2026, 12, 8)) == "08/12/2026"
    assert ptbr.day(datetime(2026, 12, 9, 2, 30, tzinfo=UTC)) == "08/12/2026"  # still the 8th in São Paulo
    assert ptbr.moment(datetime(2026, 12, 2, 16, 23, tzinfo=UTC)) == "02/12/2026 13:23 -03"
    assert ptbr.moment(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "01/07/2026 09:00 -03"  # no daylight saving
    assert ptbr.day(None) == ptbr.moment(None) == "-"


def test_the_last_day_to_disburse_is_the_windows_last_day_not_the_instant_after_it() -> None:
    # The loan keeps its window as the first instant after it: 09/12/2026 00:00 in São Paulo.
    window_end = end_of_day(date(2026, 12, 8))
    assert window_end == datetime(2026, 12, 9, tzinfo=SAO_PAULO)
    assert ptbr.last_disbursement_day(window_end) == "último dia para desembolso 08/12/2026"
    # The same instant read in UTC (as a search attribute comes back) names the same day.
    assert (
        ptbr.last_disbursement_day(datetime(2026, 12, 9, 3, 0, tzinfo=UTC)) == "último dia para desembolso 08/12/2026"
    )
    assert ptbr.last_disbursement_day(None) == "último dia para desembolso -"


def test_installments() -> None:
    assert ptbr.installments(84, Decimal("250")) == "84 x R$ 250,00"
    assert ptbr.installments(None, Decimal("99.9")) == "installments of R$ 99,90"


def test_every_stage_has_words_and_none_is_markdown() -> None:
    assert {str(stage) for stage in Stage} <= set(ptbr.STAGE_NAMES)
    assert ptbr.stage_name(Stage.AWAITING_SIGNATURE) == "waiting for the borrower's signature"
    assert ptbr.stage_name("a_stage_from_a_newer_build") == "a_stage_from_a_newer_build"
    assert not any(mark in text for text in ptbr.STAGE_NAMES.values() for mark in ("*", "`", "_"))
