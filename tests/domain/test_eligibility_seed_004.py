"""Eligibility as seed 004 defines it (§2 margins, §12 status and block tables), on the seed's own
balance answer with the fields those tables name changed one at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.models.consultation import BalanceData
from domain.eligibility import Assessment, EligibilityFacts, EligibilityLimits, assess
from domain.margin_release import margin_release
from domain.regulation import DDB_BLOCK_DAYS, MAX_INSTALLMENTS, MAX_MONTHLY_RATE
from tests.seed_examples import examples

SEED_BALANCE: dict[str, Any] = next(e for e in examples("004") if e.line == 181).obj["data"]
SEED_004 = EligibilityLimits(MAX_MONTHLY_RATE.value, MAX_INSTALLMENTS.value, seed_004=True)
FIRST_EDITION = replace(SEED_004, seed_004=False)
TODAY = date(2026, 12, 2)


def facts(
    installment: str = "300.00", product: str = "new_credit", refinanced: str = "0", **balance: Any
) -> EligibilityFacts:
    data = {**SEED_BALANCE, "benefit_end_date": None, **balance}
    return EligibilityFacts(
        benefit_number="22255220",
        listed_benefits=("22255220",),
        balance=BalanceData.model_validate(data).to_facts(),
        installment=Decimal(installment),
        monthly_rate=Decimal("0.0166"),
        number_of_installments=84,
        last_installment_date=date(2033, 1, 7),
        has_legal_representative=False,
        has_judicial_authorization=False,
        product=product,
        refinanced_installments=Decimal(refinanced),
    )


def rules(assessment: Assessment) -> tuple[list[str], list[str]]:
    return [f.rule for f in assessment.failures], [r.rule for r in assessment.risks]


def test_the_seeds_benefit_is_eligible_with_no_risk() -> None:
    assert rules(assess(facts(), SEED_004)) == ([], [])


def test_blocked_at_concession_goes_to_the_ddb_rule_instead_of_a_refusal() -> None:
    ddb = TODAY - timedelta(days=30)
    new_benefit = facts(benefit_status="blocked", block_type="blocked_by_granting_process", grant_date=ddb.isoformat())
    assert rules(assess(new_benefit, SEED_004)) == ([], [])
    # ...and the DDB rule schedules it past DDB + 90 when the window reaches that far, or refuses it.
    reaching = margin_release(ddb, TODAY, ddb + timedelta(days=95), block_days=DDB_BLOCK_DAYS.value)
    assert reaching.allowed and reaching.blocked_today and reaching.release_date == ddb + timedelta(days=91)
    short = margin_release(ddb, TODAY, TODAY + timedelta(days=5), block_days=DDB_BLOCK_DAYS.value)
    assert not short.allowed
    # The first edition refused it twice over: not elegible, and blocked.
    assert rules(assess(new_benefit, FIRST_EDITION))[0] == ["benefit_elegible", "benefit_not_blocked"]


def test_blocked_at_concession_without_a_ddb_cannot_be_scheduled() -> None:
    undated = facts(benefit_status="blocked", block_type="blocked_by_granting_process", grant_date=None)
    assert rules(assess(undated, SEED_004)) == (["benefit_not_blocked"], [])


def test_blocked_by_the_beneficiary_or_by_tbm_is_a_stated_risk_not_a_refusal() -> None:
    for block, who in (("blocked_by_beneficiary", "the beneficiary"), ("blocked_by_tbm", "TBM")):
        assessment = assess(facts(benefit_status="blocked", block_type=block), SEED_004)
        assert rules(assessment) == ([], ["benefit_not_blocked"])
        assert who in assessment.risks[0].message and "teimosinha" in assessment.risks[0].message


def test_an_ineligible_benefit_or_a_block_in_no_table_is_refused() -> None:
    # Loans started before unknown block types were flagged (no patch marker): refused, as they were.
    assert rules(assess(facts(benefit_status="inelegible"), SEED_004))[0] == ["benefit_elegible"]
    assert rules(assess(facts(block_type="4"), SEED_004))[0] == ["benefit_not_blocked"]


@pytest.mark.parametrize("block", ["blocked_by_court_order", "4", "Blocked_By_Something"])
def test_a_block_type_no_table_spells_is_a_flagged_risk_not_a_refusal(block: str) -> None:
    # Only not_blocked and blocked_by_tbm are ever printed (the offline-balance page: "not_blocked,
    # blocked_by_tbm, etc."); another spelling must not refuse a loan the provider would take.
    assessment = assess(
        facts(benefit_status="blocked", block_type=block), replace(SEED_004, unknown_block_is_risk=True)
    )
    assert rules(assessment) == ([], ["benefit_not_blocked"])
    assert "in no table (flagged)" in assessment.risks[0].message and "teimosinha" in assessment.risks[0].message


def test_the_loans_margin_is_consigned_credit_not_the_total_over_every_modality() -> None:
    # 1000 left over all modalities, of which only 250 in the loans modality (the rest is card margin).
    split: dict[str, Any] = {"available_total_balance": 1000, "consigned_credit": {"balance": 250}}
    assert rules(assess(facts("300.00", **split), SEED_004))[0] == ["margin_covers_installment"]
    assert rules(assess(facts("300.00", **split), FIRST_EDITION))[0] == []  # the first edition's mistake
    assert rules(assess(facts("250.00", **split), SEED_004)) == ([], [])


def test_a_refinancing_credits_the_installment_it_frees() -> None:
    split: dict[str, Any] = {"available_total_balance": 1000, "consigned_credit": {"balance": 250}}
    refinancing = facts("400.00", product="refinancing", refinanced="150.00", **split)
    assert rules(assess(refinancing, SEED_004)) == ([], [])
    assert rules(assess(replace(refinancing, installment=Decimal("400.01")), SEED_004))[0] == [
        "margin_covers_installment"
    ]


def test_a_minimum_wage_increase_is_issued_against_margin_not_there_yet() -> None:
    split: dict[str, Any] = {"available_total_balance": 100, "consigned_credit": {"balance": 100}}
    raise_loan = assess(facts("300.00", product="minimum_wage_increase", **split), SEED_004)
    assert rules(raise_loan) == ([], ["margin_covers_installment"])
    assert "margin the raise opens" in raise_loan.risks[0].message


def test_without_a_loans_margin_the_total_is_used_and_said() -> None:
    data: dict[str, Any] = {"consigned_credit": None, "available_total_balance": 1000}
    assessment = assess(facts("300.00", **data), SEED_004)
    assert rules(assessment) == ([], ["margin_covers_installment"])
    assert "no loans margin" in assessment.risks[0].message
