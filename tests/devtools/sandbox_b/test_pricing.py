"""The second sandbox's own pricing (``devtools.sandbox_b.pricing``) against the seeds' printed figures.

Written from the seeds, not from the lender's engine, so a disagreement between the two shows up in the
loan's pricing check; here each figure is the seed's: seed 004's simulation answer (4 options × 4
installments, a TAC of 0.6 % and a TED fee of 1.00 taken out of the issue amount) and its issuance
answer (8 options × 10 installments, a TED fee of 1.50 taken out, the first due date moved forward
16 months), and seed 003's operation at the rate its issue amount implies (README, "The second
provider's figures").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from devtools.sandbox_b.pricing import DateRules, Deductions, PriceRefused, Terms, price
from devtools.sandbox_b.settings import SandboxBSettings
from tests.activities.provider_b.seed003 import payload
from tests.seed_examples import examples

RULES = DateRules()


def _example(line: int) -> Any:
    return next(e for e in examples("004") if e.line == line).obj


def _percent(text: str) -> Decimal:
    """Seed 004's issuance prints its CET as ``2,0100%``."""
    return Decimal(text.rstrip("%").replace(",", ".")) / 100


def test_seed_004_simulation_every_option_to_the_cent() -> None:
    financial = _example(286)["financial"]
    options = _example(410)["data"]["disbursement_options"]
    assert len(options) == 4
    for option in options:
        fees = {f["fee_type"]: f for f in option["contract_fees"]}
        priced = price(
            Terms(
                monthly_rate=financial["monthly_interest_rate"],
                number_of_installments=financial["number_of_installments"],
                disbursement_date=date.fromisoformat(option["disbursement_date"]),
                first_due_date=date.fromisoformat(financial["first_due_date"]),
                installment=financial["installment_face_value"],
            ),
            Deductions(percent=fees["tac"]["amount"], fixed=fees["ted_fee"]["fee_amount"]),
            RULES,
        )
        where = option["disbursement_date"]
        assert priced.first_due_date == date.fromisoformat(option["first_due_date"]), where
        assert priced.issue_amount == option["issue_amount"], where
        assert priced.iof == option["iof_amount"], where
        assert priced.released == option["disbursed_issue_amount"], where
        assert (priced.monthly_cet, priced.annual_cet) == (option["cet"], option["annual_cet"]), where
        assert priced.annual_rate == option["prefixed_interest_rate"]["annual_rate"], where


def test_seed_004_issuance_every_option_to_the_cent() -> None:
    financial = _example(995)["financial"]
    options = _example(1599)["data"]["disbursement_options"]
    assert len(options) == 8
    for option in options:
        fees = {f["fee_type"]: f["fee_amount"] for f in option["contract_fees"]}
        priced = price(
            Terms(
                monthly_rate=financial["monthly_interest_rate"],
                number_of_installments=financial["number_of_installments"],
                disbursement_date=date.fromisoformat(option["disbursement_date"]),
                first_due_date=date.fromisoformat(financial["first_due_date"]),  # 2023-09-20: long past
                installment=financial["installment_face_value"],
            ),
            Deductions(fixed=fees["ted_fee"]),  # the spread is added to the assignment, not taken out
            RULES,
        )
        where = option["disbursement_date"]
        assert priced.first_due_date == date.fromisoformat(option["first_due_date"]), where
        assert priced.last_due_date.isoformat() == option["installments"][-1]["due_date"], where
        assert priced.issue_amount == option["issue_amount"], where
        assert priced.iof == option["total_iof"], where
        assert priced.monthly_cet == _percent(option["cet"]), where
        assert priced.annual_cet == _percent(option["annual_cet"]), where


def test_seed_003_operation_at_its_implied_rate() -> None:
    operation = payload()["operation"]
    settings = SandboxBSettings()
    priced = price(
        Terms(
            monthly_rate=Decimal("0.01877904"),  # README: 1.877903 – 1.877905 % a month
            number_of_installments=operation["number_of_installments"],
            disbursement_date=date.fromisoformat(operation["disbursement_date"]),
            first_due_date=date.fromisoformat(operation["first_due_date"]),
            installment=Decimal(operation["installment_face_value"]),
        ),
        Deductions(percent=settings.deduction_percent),
        settings.date_rules(),
    )
    assert priced.first_due_date == date.fromisoformat(operation["first_due_date"])  # 54 days out: kept
    assert priced.issue_amount == Decimal(operation["issue_amount"])  # 12444.67, observação 7
    assert priced.released == Decimal(operation["disbursed_amount"])  # 12007.60
    # The README's derivation: IOF 414.67, the deduction 22.40, 26 Dec 2032 a holiday-free Monday.
    assert (priced.iof, priced.deducted) == (Decimal("414.67"), Decimal("22.40"))
    assert priced.last_due_date == date(2032, 12, 27)
    assert (priced.monthly_cet, priced.annual_cet) == (Decimal("0.0199"), Decimal("0.266770"))


def test_a_disbursed_amount_simulation_releases_at_least_what_was_asked() -> None:
    """No seed prints this answer: the smallest issue amount releasing the amount, and the centavo-
    rounded installment that amortises it. Seed 003's released amount at the table's 1.79 %."""
    operation = payload()["operation"]
    asked = Decimal(operation["disbursed_amount"])
    priced = price(
        Terms(
            monthly_rate=Decimal("0.0179"),
            number_of_installments=operation["number_of_installments"],
            disbursement_date=date.fromisoformat(operation["disbursement_date"]),
            first_due_date=date.fromisoformat(operation["first_due_date"]),
            released=asked,
        ),
        Deductions(percent=Decimal("0.18")),
        RULES,
    )
    # Released grows by just under a centavo a centavo of issue: the smallest issue lands within one.
    assert asked <= priced.released < asked + Decimal("0.02")
    # Below seed 003's implied rate, a smaller installment releases the same amount.
    assert priced.installment < Decimal(operation["installment_face_value"])


def test_no_installment_no_amount_is_refused_naming_the_field() -> None:
    with pytest.raises(PriceRefused) as refused:
        price(Terms(Decimal("0.0179"), 84, date(2025, 12, 3), date(2026, 1, 26)), Deductions(), RULES)
    assert refused.value.field == "operation.simulation_type"
