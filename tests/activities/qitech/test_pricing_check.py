"""The first provider's simulation checked against our engine, on seed 004's own example: the
answer the seed prints agrees with us to the cent; the same answer with one figure changed — the
installment, the IOF, the CET, the issue amount, the released amount — is no match, and names
that figure with ours (the seed's) and theirs.

Ground truth: seed 004 §3's first simulation request and its answer (4 options × 4 installments at
1.8 % a month, TAC 0.6 % and a TED fee of 1.00: ``SEED_004_SIMULATION_PRODUCT``).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.qitech.adapter import LoanActivities
from activities.qitech.mapping import LenderTerms
from activities.qitech.models.simulation import DebtSimulationRequest, SimulationResult
from domain.loan import LoanRequest
from domain.pricing.product import SEED_004_SIMULATION_PRODUCT
from tests.seed_examples import examples
from tests.support.loans import loan_request
from workflows.loan.activity_models import SimulateInput
from workflows.loan.visibility import pricing_words

REQUEST = next(e for e in examples("004") if e.line == 286).obj
ANSWER = next(e for e in examples("004") if e.line == 410).obj
FIRST = ANSWER["data"]["disbursement_options"][0]  # 2024-11-05


class NoRoutes:
    async def claim(self, key: str, loan_id: str) -> None:
        return None

    async def release(self, keys: list[str], loan_id: str) -> None:
        return None


class SeedProvider:
    """Stands in for the provider's client: answers the simulation it is given, and checks that the
    request is the seed's."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def simulate(self, request: DebtSimulationRequest) -> SimulationResult:
        sent = request.financial
        assert (sent.installment_face_value, sent.number_of_installments) == (Decimal(100), 4)
        return SimulationResult.model_validate(self.answer)


def _request() -> LoanRequest:
    financial = REQUEST["financial"]
    return loan_request(
        financial={
            "installment_value": str(financial["installment_face_value"]),
            "monthly_interest_rate": str(financial["monthly_interest_rate"]),
            "number_of_installments": financial["number_of_installments"],
            "first_due_date": financial["first_due_date"],
            "disbursement_date": financial["disbursement_date"],
            "limit_days_to_disburse": financial["limit_days_to_disburse"],
        }
    )


async def _check(answer: Any) -> Any:
    activities = LoanActivities(
        SeedProvider(answer),  # type: ignore[arg-type]
        NoRoutes(),
        LenderTerms(purchaser_cnpj="32402502000135"),
        SEED_004_SIMULATION_PRODUCT,
    )
    return await ActivityEnvironment().run(activities.simulate, SimulateInput(request=_request()))


async def test_the_seeds_answer_agrees_with_us() -> None:
    simulated = await _check(ANSWER)
    assert simulated.pricing_check.matches, simulated.pricing_check
    assert simulated.pricing_check.mismatches == []
    # Only the option the loan takes (the requested disbursement day's) reaches its history.
    [option] = simulated.options
    assert str(option.disbursement_date) == REQUEST["financial"]["disbursement_date"] == FIRST["disbursement_date"]
    assert option.issue_amount == Decimal(str(FIRST["issue_amount"]))


async def test_the_pricing_check_still_covers_the_days_the_loan_does_not_take() -> None:
    """The answer keeps one option, but the check is the verdict on every option the provider priced:
    a figure changed on the last day's option, which the loan does not take, is still named."""
    answer = copy.deepcopy(ANSWER)
    last = answer["data"]["disbursement_options"][-1]
    last["iof_amount"] = Decimal("9.99")
    simulated = await _check(answer)
    [option] = simulated.options
    assert str(option.disbursement_date) == FIRST["disbursement_date"]
    [mismatch] = simulated.pricing_check.mismatches
    assert (str(mismatch.disbursement_date), mismatch.field, mismatch.theirs) == (
        last["disbursement_date"],
        "total_iof",
        "9.99",
    )


def _changed(path: tuple[str, ...], value: Any) -> Any:
    answer = copy.deepcopy(ANSWER)
    option = answer["data"]["disbursement_options"][0]
    if path[0] == "installments":
        for row in option["installments"]:
            row["total_amount"] = value
    else:
        option[path[0]] = value
    return answer


@pytest.mark.parametrize(
    ("path", "theirs", "field", "ours"),
    [
        (("installments",), Decimal("100.01"), "installment_value", "100"),
        (("iof_amount",), Decimal("3.94"), "total_iof", str(FIRST["iof_amount"])),
        (("cet",), Decimal("0.0258"), "monthly_cet", str(FIRST["cet"])),
        (("annual_cet",), Decimal("0.355164"), "annual_cet", str(FIRST["annual_cet"])),
        (("issue_amount",), Decimal("382.14"), "issue_amount", str(FIRST["issue_amount"])),
        (("final_disbursement_amount",), Decimal("374.90"), "released_amount", str(FIRST["final_disbursement_amount"])),
    ],
)
async def test_a_figure_the_provider_prices_otherwise_is_named(
    path: tuple[str, ...], theirs: Decimal, field: str, ours: str
) -> None:
    simulated = await _check(_changed(path, theirs))
    check = simulated.pricing_check
    assert not check.matches
    [mismatch] = check.mismatches
    assert str(mismatch.disbursement_date) == FIRST["disbursement_date"]
    assert (mismatch.field, Decimal(mismatch.ours or "nan"), Decimal(mismatch.theirs or "nan")) == (
        field,
        Decimal(ours),
        theirs,
    )
    words = pricing_words(check)
    assert f"{FIRST['disbursement_date']} {field}: ours {mismatch.ours}, theirs {mismatch.theirs}" in words
    # The loan goes on with the provider's figures.
    first = simulated.options[0]
    assert getattr(first, field) == theirs


async def test_every_figure_that_differs_is_named_at_once() -> None:
    answer = copy.deepcopy(ANSWER)
    option = answer["data"]["disbursement_options"][0]
    option.update(issue_amount=Decimal("382.14"), iof_amount=Decimal("3.94"), cet=Decimal("0.0258"))
    for row in option["installments"]:
        row["total_amount"] = Decimal("100.01")
    check = (await _check(answer)).pricing_check
    assert {m.field for m in check.mismatches} == {"installment_value", "issue_amount", "total_iof", "monthly_cet"}
    words = pricing_words(check)
    for field in ("installment_value", "issue_amount", "total_iof", "monthly_cet"):
        assert f" {field}: ours " in words


async def test_an_answer_without_any_figure_is_no_match() -> None:
    answer = copy.deepcopy(ANSWER)
    for option in answer["data"]["disbursement_options"]:
        for name in ("first_due_date", "issue_amount", "iof_amount", "cet", "annual_cet", "installments"):
            option.pop(name, None)
        option.pop("disbursed_issue_amount")
        option.pop("final_disbursement_amount")
    check = (await _check(answer)).pricing_check
    assert not check.matches and check.differences == ["the provider's answer gives no figure to check"]


async def test_a_refinancings_payoff_is_the_providers_not_the_callers() -> None:
    """The caller names the refinanced contract and expects a payoff of 100.00; the provider's answer
    pays off 150.00 of each option (it disburses that much more than reaches the borrower). Our
    engine's released amount is checked on the provider's payoff, so the seed's figures still agree;
    had the caller's 100.00 been used, the released amounts would differ by 50.00."""
    key = "324caa35-ba10-4590-ae2b-5efef71709c3"  # seed 004's refinanced operation_key
    answer = copy.deepcopy(ANSWER)
    for option in answer["data"]["disbursement_options"]:
        option["final_disbursement_amount"] = option["disbursed_issue_amount"] - Decimal("150.00")
    answer["data"]["refinanced_credit_operations"] = [{"operation_key": key, "payoff_amount": "150.00"}]
    request = _request().model_dump(mode="json")
    request.update(
        product="refinancing",
        refinanced_operations=[{"operation_key": key, "installment_value": "50.00", "payoff_amount": "100.00"}],
    )
    activities = LoanActivities(
        SeedProvider(answer),  # type: ignore[arg-type]
        NoRoutes(),
        LenderTerms(purchaser_cnpj="32402502000135"),
        SEED_004_SIMULATION_PRODUCT,
    )
    simulated = await ActivityEnvironment().run(
        activities.simulate, SimulateInput(request=LoanRequest.model_validate(request))
    )
    first = simulated.options[0]
    assert first.payoff == Decimal("150.00")
    assert first.released_amount == Decimal(str(FIRST["disbursed_issue_amount"])) - Decimal("150.00")
    assert simulated.pricing_check.matches, simulated.pricing_check
    assert [(r.operation_key, r.payoff_amount) for r in simulated.refinanced] == [(key, Decimal("150.00"))]
