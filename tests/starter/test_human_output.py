"""What ``python -m starter`` prints for people: installment count, rates in percent, money in R$,
dates as Brazilians write them, times in São Paulo, plain text (no markdown); ``--json`` stays the
typed state as it always was. No server needed. Expected lines are written by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from activities.wire import encode
from domain.loan import Product
from starter import cli
from starter.cli import installment_count, print_state
from workflows.loan.state import EventRecord, LoanState, PricedOption, RuleFailure, Stage, Status

OPTION = PricedOption(
    disbursement_date=date(2026, 12, 3),
    first_due_date=date(2027, 1, 12),
    last_due_date=date(2033, 12, 12),
    installment_value=Decimal("250.00"),
    issue_amount=Decimal("11220.54"),
    released_amount=Decimal("10849.97"),
    total_iof=Decimal("369.57"),
    monthly_rate=Decimal("0.0166"),
    monthly_cet=Decimal("0.0176"),
    annual_cet=Decimal("0.233325"),
)


def _waiting() -> LoanState:
    return LoanState(
        request_key="sample-human-completes",
        product=Product.NEW_CREDIT,
        stage=Stage.AWAITING_SIGNATURE,
        debt_key="dc05de88-90cc-4123-8e5f-bf3b8b1bfee1",
        contract_number="TST0000644700",
        chosen_option=OPTION,
        installment_value=Decimal("250.00"),
        disbursement_window_end=datetime(2026, 12, 9, 3, 0, tzinfo=UTC),
        events=[
            EventRecord(
                event_id="e1",
                webhook_type="debt",
                key="dc05de88-90cc-4123-8e5f-bf3b8b1bfee1",
                received_at=datetime(2026, 12, 2, 16, 23, 38, tzinfo=UTC),
                effect="noted: debt waiting_signature",
            )
        ],
    )


def test_a_waiting_loan_reads_in_reais_percent_and_sao_paulo_time(capsys: pytest.CaptureFixture[str]) -> None:
    print_state(_waiting())
    assert capsys.readouterr().out.splitlines() == [
        "loan sample-human-completes  [in_progress]  stage awaiting_signature",
        # The window is kept as its first instant after (09/12 00:00 -03): the 8th is the last day.
        "  awaiting_signature: waiting for the borrower's signature, último dia para desembolso 08/12/2026",
        "  debt dc05de88-90cc-4123-8e5f-bf3b8b1bfee1  contract TST0000644700",
        "  84 x R$ 250,00, released R$ 10.849,97 (issued R$ 11.220,54, IOF R$ 369,57)",
        "  rate 1,66 % a.m., CET 1,76 % a.m. (23,33 % a.a.)",
        "  disbursement 03/12/2026, installments due 12/01/2027 to 12/12/2033",
        "  1 provider events, last: debt noted: debt waiting_signature (02/12/2026 13:23 -03)",
    ]


def test_a_reduced_installment_shows_the_current_value(capsys: pytest.CaptureFixture[str]) -> None:
    state = _waiting().model_copy(update={"installment_value": Decimal("212.5"), "events": []})
    print_state(state)
    assert "  84 x R$ 212,50, released R$ 10.849,97" in capsys.readouterr().out


def test_a_rejected_loan_lists_each_rule_once_and_no_terms(capsys: pytest.CaptureFixture[str]) -> None:
    rate = "monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m."
    state = LoanState(
        request_key="sample-human-rejected",
        product=Product.NEW_CREDIT,
        stage=Stage.CLOSED,
        status=Status.REJECTED,
        outcome_reason=rate,  # the workflow's reason is its first rule's text
        rejection=[
            RuleFailure(rule="rate_within_cap", message=rate, source="CNPS"),
            RuleFailure(rule="max_installments", message="96 installments is above the limit of 84", source="IN"),
        ],
        signature_submitted_at=datetime(2026, 12, 2, 2, 30, tzinfo=UTC),
    )
    print_state(state)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "loan sample-human-rejected  [rejected]  stage closed",
        "  rejected: 2 rules failed",
        "  rule rate_within_cap: monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m.",
        "  rule max_installments: 96 installments is above the limit of 84",
        "  signature submitted 01/12/2026 23:30 -03",  # the day before, in São Paulo
    ]


def test_partial_figures_never_print_none(capsys: pytest.CaptureFixture[str]) -> None:
    bare = PricedOption(disbursement_date=date(2026, 12, 3), installment_value=Decimal("99.9"))
    print_state(LoanState(request_key="sample-human-bare", product=Product.NEW_CREDIT, chosen_option=bare))
    out = capsys.readouterr().out
    assert "installments of R$ 99,90, released -" in out and "rate -, CET - (-)" in out
    assert "None" not in out


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        (date(2027, 1, 12), date(2033, 12, 12), 84),
        (date(2027, 1, 30), date(2033, 1, 2), 72),  # the last due date moved past a weekend into the next month
        (date(2027, 3, 1), date(2028, 2, 1), 12),  # across a leap February
        (date(2027, 1, 12), date(2027, 1, 12), 1),
    ],
)
def test_installment_count_from_the_due_dates(first: date, last: date, count: int) -> None:
    option = PricedOption(disbursement_date=date(2026, 12, 3), first_due_date=first, last_due_date=last)
    assert installment_count(option) == count


class _OneLoan:
    def __init__(self, state: LoanState) -> None:
        self._state = state

    async def state(self, request_key: str) -> LoanState:
        assert request_key == self._state.request_key
        return self._state


def test_json_output_is_the_typed_state_unchanged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = _waiting()

    async def connect() -> Any:
        return _OneLoan(state)

    monkeypatch.setattr(cli, "_connect", connect)
    assert cli.main(["status", state.request_key, "--json"]) == 0
    assert capsys.readouterr().out == encode(state.model_dump(mode="json")).decode() + "\n"
    assert cli.main(["status", state.request_key]) == 0
    assert "84 x R$ 250,00" in capsys.readouterr().out
