"""A price check that can fail, on the loan: the first provider's simulation prices the installment,
the IOF, the CET and the issue amount otherwise than ours; the loan goes on with the provider's
figures, keeps every difference (field, ours, theirs) in its state and names them in its current
details. A provider that agrees is a match the comparison computed, not one a fake declared."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from tests.support.temporal import current_details
from workflows.loan.state import Stage, Status

# Ours are the fake engine's figures (FakeProvider._options): 300.00 a month, 12000.00 issued,
# IOF 400.00, CET 1.90 % a month.
THEIRS = {
    "installment_value": Decimal("300.01"),
    "total_iof": Decimal("400.01"),
    "monthly_cet": Decimal("0.0191"),
    "issue_amount": Decimal("12000.01"),
}
OURS = {"installment_value": "300.00", "total_iof": "400.00", "monthly_cet": "0.0190", "issue_amount": "12000.00"}


async def test_each_figure_the_provider_prices_otherwise_is_named(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)), fake=FakeProvider(prices=dict(THEIRS)))
    await loan.consulted()
    state = await loan.at(Stage.AWAITING_SIGNATURE)
    check = state.pricing_check
    assert check is not None and not check.matches
    day = loan.request.financial.disbursement_date
    named = {m.field: (m.ours, m.theirs) for m in check.mismatches if m.disbursement_date == day}
    assert named == {field: (OURS[field], str(THEIRS[field])) for field in THEIRS}
    details = await current_details(loan.handle)
    for field, theirs in THEIRS.items():
        assert f"{day} {field}: ours {OURS[field]}, theirs {theirs}" in details, details


async def test_a_provider_that_agrees_is_a_computed_match(start: Any, tmp_path: Any) -> None:
    loan = await start(loan_request(documents=document_files(tmp_path)))
    await loan.consulted()
    state = await loan.at(Stage.AWAITING_SIGNATURE)
    assert state.pricing_check is not None and state.pricing_check.matches
    assert state.pricing_check.mismatches == [] and state.pricing_check.differences == []
    assert "pricing differs" not in await current_details(loan.handle)


def _refinancing(tmp_path: Any, expected: str) -> Any:
    return loan_request(
        documents=document_files(tmp_path),
        product="refinancing",
        refinanced_operations=[
            {"operation_key": str(uuid.uuid4()), "installment_value": "120.00", "payoff_amount": expected}
        ],
    )


async def test_a_refinancing_pays_off_what_the_provider_says_and_shows_the_caller_what_differs(
    start: Any, tmp_path: Any
) -> None:
    """The caller expected 3,000.00; the provider's simulation pays off 3,250.00. The loan goes on the
    provider's figure (what the borrower receives is 3,250.00 less) and shows both to an operator."""
    loan = await start(_refinancing(tmp_path, "3000.00"), fake=FakeProvider(payoff=Decimal("3250.00")))
    await loan.consulted()
    state = await loan.at(Stage.AWAITING_SIGNATURE)
    assert state.payoff is not None
    assert (state.payoff.provider, state.payoff.expected) == (Decimal("3250.00"), Decimal("3000.00"))
    assert state.pricing_check is not None and state.pricing_check.matches, state.pricing_check
    details = await current_details(loan.handle)
    assert "payoff: the provider pays off 3250.00, the caller expected 3000.00" in details, details


async def test_a_refinancing_that_would_release_nothing_is_refused(start: Any, tmp_path: Any) -> None:
    """The provider pays off all the new loan disburses (11,500.00 in the fake's figures): the
    borrower would receive nothing, so the loan ends before anything is issued."""
    fake = FakeProvider(payoff=Decimal("11500.00"))
    loan = await start(_refinancing(tmp_path, "3000.00"), fake=fake)
    await loan.consulted()
    outcome = await loan.outcome()
    assert outcome.status == Status.REJECTED
    assert outcome.reason is not None and outcome.reason.startswith("refinancing releases nothing")
    assert "the provider pays off 11500.00, the caller expected 3000.00" in outcome.reason
    assert "issue_debt" not in fake.names()
