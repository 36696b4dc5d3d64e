"""The words the Web UI shows for a loan (its summary and current details), written by hand as an
operator reads them: R$ 1.234,56, 1,66 % a.m., 08/12/2026, the window's last day — the same texts
the CLI prints (tests/starter/test_human_output.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from domain.calendar import end_of_day
from domain.loan import Product
from tests.support.loans import loan_request
from workflows.loan.state import DataprevAnswer, LoanState, RuleFailure, Stage, Status
from workflows.loan.visibility import describe, summary


def test_the_summary_reads_in_reais_and_percent_a_month() -> None:
    request = loan_request(installment="250.00", benefit_number="2052711150", disbursement=date(2026, 12, 3))
    assert summary(request) == "INSS new credit · 84 x R$ 250,00 at 1,66 % a.m. · benefit ••••1150"


def test_the_summary_of_a_portability_names_the_balance_and_the_troco() -> None:
    request = loan_request(
        product="portability",
        disbursement=date(2026, 12, 3),
        portability={
            "origin_bank_ispb": "00000000",
            "origin_contract_number": "C-1",
            "last_due_balance": "12345.67",
            "troco": {"installment_value": "250.00", "monthly_interest_rate": "0.0179"},
        },
    )
    assert summary(request, request.provider) == (
        "INSS portability · R$ 12.345,67 from ISPB 00000000 in 84 x at 1,66 % a.m. + troco leg 84 x R$ 250,00"
        " · benefit ••••1150"
    )


def _averbacao() -> LoanState:
    return LoanState(
        request_key="k-1",
        product=Product.NEW_CREDIT,
        stage=Stage.AVERBACAO,
        averbacao_answers=3,
        last_dataprev=DataprevAnswer(
            enumerator="consignable_margin_excceded",
            code="HW",
            action="retry",
            at=datetime(2026, 12, 2, 17, 2, tzinfo=UTC),
        ),
        disbursement_window_end=end_of_day(date(2026, 12, 8)),
    )


def test_current_details_in_the_web_ui_and_in_a_terminal() -> None:
    expected = (
        "averbação at Dataprev, teimosinha, last answer HW consignable_margin_excceded at 02/12/2026 14:02 -03"
        " (3 answers), último dia para desembolso 08/12/2026"
    )
    assert describe(_averbacao()) == "**averbacao**: " + expected
    assert describe(_averbacao(), markdown=False) == "averbacao: " + expected


def test_a_refused_installment_reads_in_reais() -> None:
    state = LoanState(
        request_key="k-2",
        product=Product.NEW_CREDIT,
        stage=Stage.AWAITING_INSTALLMENT_REDUCTION,
        pending_reservation_amount=Decimal("312.45"),
    )
    assert describe(state, markdown=False) == (
        "awaiting_installment_reduction: margin exceeded: waiting for an operator to reduce the installment, "
        "Dataprev refused an installment of R$ 312,45"
    )


def test_a_rejection_lists_its_rules_once_in_markdown_and_not_at_all_in_plain_text() -> None:
    state = LoanState(
        request_key="k-3",
        product=Product.NEW_CREDIT,
        stage=Stage.CLOSED,
        status=Status.REJECTED,
        outcome_reason="monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m.",
        rejection=[
            RuleFailure(
                rule="rate_within_cap", message="monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m.", source="s"
            )
        ],
    )
    assert describe(state) == (
        "**rejected**: 1 rule failed\n\n- `rate_within_cap`: monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m."
    )
    assert describe(state, markdown=False) == "rejected: 1 rule failed"  # the CLI prints the rules itself
