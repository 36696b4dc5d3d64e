"""Each eligibility rule, against the seed's own balance webhook data (004 §2) and variations of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.models.consultation import BalanceData
from domain.eligibility import PORTABILITY_RULES, RULES, EligibilityFacts, EligibilityLimits, assess
from domain.eligibility import evaluate as evaluate_with
from domain.regulation import MAX_INSTALLMENTS, MAX_MONTHLY_RATE
from tests.seed_examples import examples

SEED_BALANCE: dict[str, Any] = next(e for e in examples("004") if e.line == 181).obj["data"]


TODAY_LIMITS = EligibilityLimits(max_monthly_rate=MAX_MONTHLY_RATE.value, max_installments=MAX_INSTALLMENTS.value)


def evaluate(facts: EligibilityFacts) -> list[Any]:
    """Against today's regulation (a loan is checked against its pinned rules; loan.rules)."""
    return evaluate_with(facts, TODAY_LIMITS)


def _facts(**balance_changes: Any) -> EligibilityFacts:
    data = {**SEED_BALANCE, "benefit_end_date": None, **balance_changes}
    return EligibilityFacts(
        benefit_number="22255220",
        listed_benefits=("22255220",),
        balance=BalanceData.model_validate(data).to_facts(),
        installment=Decimal("300.00"),
        monthly_rate=Decimal("0.0166"),
        number_of_installments=84,
        last_installment_date=date(2032, 1, 7),
        has_legal_representative=False,
        has_judicial_authorization=False,
    )


def test_the_seeds_sample_benefit_is_eligible_once_its_past_end_date_is_removed() -> None:
    assert evaluate(_facts()) == []


def test_the_seeds_sample_as_printed_fails_only_on_its_end_date() -> None:
    # The manual's example has benefit_end_date 2020-12-01 with situation active.
    failures = evaluate(_facts(benefit_end_date="2020-12-01"))
    assert [f.rule for f in failures] == ["benefit_outlasts_loan"]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"benefit_status": "inelegible"}, "benefit_elegible"),
        ({"benefit_status": "blocked"}, "benefit_elegible"),
        ({"block_type": "blocked_by_tbm"}, "benefit_not_blocked"),
        ({"block_type": "2"}, "benefit_not_blocked"),  # a code we cannot name is still not "not_blocked"
        ({"benefit_situation": "suspended_by_audit"}, "benefit_active"),
        ({"has_entity_representation": True}, "no_entity_representation"),
        ({"available_total_balance": "299.99"}, "margin_covers_installment"),
        ({"available_total_balance": None}, "margin_covers_installment"),
        ({"benefit_quota_expiration_date": "2031-12-31"}, "benefit_outlasts_loan"),
        ({"assistance_type": "aid_for_something_new"}, "assistance_type_mapped"),
    ],
)
def test_each_balance_rule_fails_on_its_own(changes: dict[str, Any], rule: str) -> None:
    assert [f.rule for f in evaluate(_facts(**changes))] == [rule]


def test_margin_equal_to_the_installment_is_enough() -> None:
    assert evaluate(_facts(available_total_balance="300.00")) == []


def test_request_rules() -> None:
    base = _facts()
    assert [f.rule for f in evaluate(replace(base, listed_benefits=("1",)))] == ["benefit_listed"]
    assert [f.rule for f in evaluate(replace(base, number_of_installments=97))] == ["max_installments"]
    assert evaluate(replace(base, number_of_installments=96)) == []
    assert [f.rule for f in evaluate(replace(base, monthly_rate=Decimal("0.0186")))] == ["rate_within_cap"]
    assert evaluate(replace(base, monthly_rate=Decimal("0.0185"))) == []
    unauthorized = replace(base, has_legal_representative=True, has_judicial_authorization=False)
    assert [f.rule for f in evaluate(unauthorized)] == ["legal_representative_authorized"]
    assert evaluate(replace(unauthorized, has_judicial_authorization=True)) == []


def test_every_failing_rule_is_named_at_once_with_its_source() -> None:
    failures = evaluate(
        replace(
            _facts(benefit_status="inelegible", has_entity_representation=True, available_total_balance="1"),
            number_of_installments=120,
        )
    )
    assert [f.rule for f in failures] == [
        "benefit_elegible",
        "no_entity_representation",
        "margin_covers_installment",
        "max_installments",
    ]
    assert all(f.source and f.message for f in failures)


def test_rule_names_are_unique_and_each_has_a_source() -> None:
    assert len({r.name for r in RULES}) == len(RULES)
    assert all(r.source for r in RULES)


# ---------------------------------------------------------------- a portability, before its proposal


def _portability(facts: EligibilityFacts) -> list[str]:
    seed_004 = EligibilityLimits(TODAY_LIMITS.max_monthly_rate, TODAY_LIMITS.max_installments, seed_004=True)
    return [f.rule for f in assess(facts, seed_004, PORTABILITY_RULES).failures]


def test_a_portability_is_checked_by_the_benefits_rules_the_alvara_and_its_documents() -> None:
    assert [r.name for r in PORTABILITY_RULES] == [
        "benefit_listed",
        "benefit_elegible",
        "benefit_active",
        "no_entity_representation",
        "assistance_type_mapped",
        "legal_representative_authorized",
        "benefit_outlasts_loan",
        "identity_documents",
    ]
    assert _portability(_facts()) == []


@pytest.mark.parametrize(
    ("balance", "changes", "rule"),
    [
        ({"benefit_status": "inelegible"}, {}, "benefit_elegible"),
        ({"benefit_situation": "suspended"}, {}, "benefit_active"),
        ({"benefit_end_date": "2030-12-01"}, {}, "benefit_outlasts_loan"),
        ({}, {"has_legal_representative": True}, "legal_representative_authorized"),  # no alvará
        ({}, {"has_identity_documents": False}, "identity_documents"),
    ],
)
def test_each_portability_rule_refuses_what_it_names(
    balance: dict[str, Any], changes: dict[str, Any], rule: str
) -> None:
    assert _portability(replace(_facts(**balance), **changes)) == [rule]


def test_a_portability_is_not_refused_for_the_margin_the_rate_or_the_block() -> None:
    # The origin bank releases the installment (HW and the reduction decide), the local pricing refuses
    # the rate and term first, and Port+Refin retries the blocks (IE/IT/IF teimosinha, seed 002 §14).
    facts = replace(
        _facts(available_total_balance="10.00", block_type="blocked_by_beneficiary", benefit_status="blocked"),
        monthly_rate=Decimal("0.05"),
        number_of_installments=120,
    )
    assert _portability(facts) == []
