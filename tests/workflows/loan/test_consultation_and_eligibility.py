"""Consultation and eligibility: every way a loan is refused before anything is issued."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import loan_request, today
from tests.support.temporal import eventually
from workflows.loan.rules import LoanPolicy, legacy_rules
from workflows.loan.state import Stage, Status


async def test_benefits_request_failure_rejects(start: Any) -> None:
    loan = await start(loan_request())
    await eventually(lambda: _called(loan, "request_benefits"))
    await loan.send(webhooks.consultation_failure("benefits", loan.fake.benefits_key, "inexistent_beneficiary"))
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert outcome.reason == "benefits request failed: inexistent_beneficiary"
    assert "issue_debt" not in loan.fake.names() and "request_balance" not in loan.fake.names()


async def test_balance_request_failure_rejects(start: Any) -> None:
    loan = await start(loan_request())
    await eventually(lambda: _called(loan, "request_benefits"))
    await loan.send(webhooks.benefits_success(loan.fake.benefits_key, [loan.request.benefit.number]))
    await eventually(lambda: _called(loan, "request_balance"))
    await loan.send(webhooks.consultation_failure("balance", loan.fake.balance_keys[0], "inexistent_benefit"))
    outcome = await loan.outcome()
    assert (outcome.status, outcome.reason) == (Status.REJECTED, "balance request failed: inexistent_benefit")


async def test_no_answer_to_the_consultation_rejects_after_the_timeout(start: Any) -> None:
    loan = await start(loan_request(), policy=LoanPolicy(consultation_timeout=timedelta(hours=6)))
    outcome = await loan.outcome()  # time skips the six hours
    assert outcome.status == Status.REJECTED
    assert outcome.reason is not None and outcome.reason.startswith("consultation_timeout")


async def test_ineligible_names_every_failing_rule_and_issues_nothing(start: Any) -> None:
    # A loan pinned to the first edition's rules: a benefit blocked by its beneficiary is refused.
    loan = await start(loan_request(installment="300.00", installments=97), rules=legacy_rules(LoanPolicy()))
    await loan.consulted(available_total_balance=100, block_type="blocked_by_beneficiary")
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert [r.rule for r in outcome.rejection] == [
        "benefit_not_blocked",
        "margin_covers_installment",
        "max_installments",
    ]
    assert "issue_debt" not in loan.fake.names()
    assert all(r.source for r in outcome.rejection)


async def test_under_seed_004_a_beneficiarys_block_is_a_stated_risk_and_the_loan_goes_on(start: Any) -> None:
    loan = await start(loan_request(installment="300.00", installments=97))
    await loan.consulted(available_total_balance=100, block_type="blocked_by_beneficiary", benefit_status="blocked")
    outcome = await loan.outcome()
    assert [r.rule for r in outcome.rejection] == ["margin_covers_installment", "max_installments"]

    eligible = await start(loan_request(installment="300.00"))
    await eligible.consulted(
        block_type="blocked_by_beneficiary", benefit_status="blocked", consigned_credit={"balance": 1000}
    )
    state = await eligible.at(Stage.AWAITING_DOCUMENTS)
    assert [r.rule for r in state.eligibility_risks] == ["benefit_not_blocked"]
    assert "issue_debt" in eligible.fake.names()


async def test_a_block_type_no_table_spells_is_flagged_and_the_loan_goes_on(start: Any) -> None:
    loan = await start(loan_request(installment="300.00"))
    await loan.consulted(
        block_type="blocked_by_court_order", benefit_status="blocked", consigned_credit={"balance": 1000}
    )
    state = await loan.at(Stage.AWAITING_DOCUMENTS)
    assert [r.rule for r in state.eligibility_risks] == ["benefit_not_blocked"]
    assert "in no table (flagged)" in state.eligibility_risks[0].message
    assert any("blocked_by_court_order" in note for note in state.unknown_values)  # visible to operators
    assert "issue_debt" in loan.fake.names()


async def test_a_benefit_not_listed_for_the_cpf_is_rejected(start: Any) -> None:
    loan = await start(loan_request(benefit_number="1111111111"))
    await eventually(lambda: _called(loan, "request_benefits"))
    await loan.send(webhooks.benefits_success(loan.fake.benefits_key, ["2222222222"]))
    await eventually(lambda: _called(loan, "request_balance"))
    await loan.send(webhooks.balance_success(loan.fake.balance_keys[0], "1111111111"))
    outcome = await loan.outcome()
    assert [r.rule for r in outcome.rejection] == ["benefit_listed"]


async def test_legal_representative_without_judicial_authorization_is_rejected(start: Any) -> None:
    request = loan_request(
        legal_representative={
            "name": "Jose Curador",
            "cpf": "45102538004",
            "birth_date": "1970-04-20",
            "mother_name": "Ana Lucia",
            "email": "jose.curador@example.com",  # the signer's: without it the start itself is refused
            "phone": {"number": "991294043", "area_code": "11"},
            "address": {
                "street": "Av Leonor",
                "number": "1",
                "city": "Guarulhos",
                "state": "SP",
                "postal_code": "07025200",
            },
        }
    )
    loan = await start(request)
    await loan.consulted()
    outcome = await loan.outcome()
    assert [r.rule for r in outcome.rejection] == ["legal_representative_authorized"]


async def test_ddb_refusal_when_the_window_ends_before_the_margin_release(start: Any) -> None:
    ddb = today() - timedelta(days=30)  # released on ddb + 91 = today + 61; the window ends in 6 days
    loan = await start(loan_request(limit_days=5))
    await loan.consulted(ddb=ddb)
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert [r.rule for r in outcome.rejection] == ["margin_release"]
    assert "social_security_margin_release_after_disbursement_end_date" in (outcome.reason or "")
    assert "issue_debt" not in loan.fake.names()


async def test_provider_refusing_the_issuance_rejects_with_its_code(start: Any) -> None:
    loan = await start(loan_request(), fake=FakeProvider(refuse={"issue_debt": "LEG000041"}))
    await loan.consulted()
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert "LEG000041" in (outcome.reason or "")


async def test_provider_refusing_the_simulation_a_local_activity_rejects_with_its_code(start: Any) -> None:
    # A local activity's refusal reaches the workflow unwrapped (not as an ActivityError): the loan
    # must still end with the provider's code, not fail as a workflow.
    loan = await start(loan_request(), fake=FakeProvider(refuse={"simulate": "SIM000404"}))
    await loan.consulted()
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert "SIM000404" in (outcome.reason or "") and "simulate" in (outcome.reason or "")


async def test_a_ddb_91_days_ago_leaves_nothing_to_wait_for(start: Any) -> None:
    loan = await start(loan_request())
    await loan.consulted(ddb=today() - timedelta(days=91))
    state = await loan.at(Stage.AWAITING_DOCUMENTS)  # no documents in this request
    assert state.margin_release_at is None and state.debt_key == loan.fake.debt_key


async def _called(loan: Any, name: str) -> bool:
    return name in loan.fake.names()
