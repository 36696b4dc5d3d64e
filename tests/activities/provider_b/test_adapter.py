"""The second provider's adapter against a scripted provider: the operation's amounts are the
provider's simulation's (seed 003 observações 6 and 7), our price is checked against them field by
field, and a product rate above the cap is refused before anything is sent.

Our figures are seed 003's own: its operation (84 × 300.00 from 2025-12-03, first due 2026-01-26)
at the rate its issue amount implies (README, "The second provider's figures") gives 12,444.67
issued and 12,007.60 released.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.provider_b.adapter import ProviderBActivities
from activities.provider_b.client import Credentials, Paths, ProviderBClient
from activities.qitech.mapping import LenderTerms
from domain.benefit import BenefitAccount, BenefitFacts
from domain.loan import LoanRequest
from domain.pricing.product import PROVIDER_B_PRODUCT, InssRules, ProductConfig
from tests.activities.provider_b import seed003
from tests.activities.provider_b.test_mapping import seed_003_request
from workflows.loan.activity_models import SimulateInput
from workflows.loan.port import BUSINESS_ERROR, CreateOperationInput

SEED = seed003.payload()["operation"]
SEED_ISSUE = Decimal(str(SEED["issue_amount"]))  # 12444.67
SEED_RELEASED = Decimal(str(SEED["disbursed_amount"]))  # 12007.60
IMPLIED_RATE = "0.01877904"  # README: 1.877903 – 1.877905 % a month
OFF_THE_CAP = PROVIDER_B_PRODUCT.model_copy(update={"inss_rules": InssRules(max_monthly_rate=None)})
BENEFIT = BenefitFacts(
    benefit_number="2052711150",
    assistance_type="retirement_by_age",
    paying_account=BenefitAccount(bank_code="341", branch_number="0155", account_number="000059923", account_digit="6"),
)


def _request() -> LoanRequest:
    """Seed 003's operation as a loan: the installment and released amount it sends, no rate (the
    product table's)."""
    body = seed_003_request().model_dump(mode="json")
    body["financial"] = {
        **body["financial"],
        "installment_value": str(SEED["installment_face_value"]),
        "disbursed_amount": str(SEED_RELEASED),
        "monthly_interest_rate": None,
    }
    return LoanRequest.model_validate(body)


class Tables:
    """The store's product tables, in memory."""

    def __init__(self, rate: str) -> None:
        row = {"cod_tabela": SEED["cod_tabela"], "number_of_installments": [84], "monthly_interest_rate": rate}
        self.text = json.dumps([row])

    async def load(self, provider: str) -> tuple[str, datetime] | None:
        return self.text, datetime(2025, 12, 1)

    async def save(self, provider: str, body: str) -> None:
        self.text = body


class Provider:
    """A scripted second provider: the simulation answers ``priced``; creations are kept."""

    def __init__(self, priced: dict[str, Any]) -> None:
        self.priced = priced
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == Paths.LOGIN:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, body))
        if request.url.path == Paths.SIMULATION:
            return httpx.Response(200, json=self.priced)
        if request.url.path == Paths.OPERATION and request.method == "POST":
            return httpx.Response(
                201, json={"debt_key": "op-1", "num_contrato": "0142115893/T", "dsc_situacao_emprestimo": "X"}
            )
        return httpx.Response(404, json={"code": "NOT_FOUND"})

    def activities(self, *, rate: str = IMPLIED_RATE, engine: ProductConfig = OFF_THE_CAP) -> ProviderBActivities:
        client = ProviderBClient(
            "http://provider-b", Credentials("u", SecretStr("p")), transport=httpx.MockTransport(self)
        )
        return ProviderBActivities(client, Tables(rate), LenderTerms(purchaser_cnpj="32402502000135"), engine)  # type: ignore[arg-type]


def answer(**changes: Any) -> dict[str, Any]:
    """The provider's simulation answer for seed 003's operation, as the seed prints its figures."""
    return {
        "disbursement_date": SEED["disbursement_date"],
        "first_due_date": SEED["first_due_date"],
        "issue_amount": str(SEED_ISSUE),
        "disbursed_amount": str(SEED_RELEASED),
        "installment_face_value": str(SEED["installment_face_value"]),
        **changes,
    }


async def test_the_operation_is_created_with_the_providers_amounts_and_the_difference_is_named() -> None:
    provider = Provider(answer(issue_amount="12450.00"))
    adapter = provider.activities()
    env = ActivityEnvironment()
    simulated = await env.run(adapter.simulate, SimulateInput(request=_request()))
    [option] = simulated.options
    assert option.issue_amount == Decimal("12450.00")  # theirs, not ours
    check = simulated.pricing_check
    assert not check.matches
    assert [(m.field, m.ours, m.theirs) for m in check.mismatches] == [("issue_amount", str(SEED_ISSUE), "12450.00")]
    assert check.differences == [f"{SEED['disbursement_date']} issue_amount: ours 12444.67, theirs 12450.00"]

    creation = CreateOperationInput(loan_id="loan-1", request=_request(), benefit=BENEFIT, priced=option)
    await env.run(adapter.create_operation, creation)
    [(_, _, sent)] = [c for c in provider.calls if c[1] == Paths.OPERATION]
    assert Decimal(str(sent["operation"]["issue_amount"])) == Decimal("12450.00")
    assert Decimal(str(sent["operation"]["disbursed_amount"])) == SEED_RELEASED
    # The creation used the loan's simulation: the provider was asked for a price once.
    assert [c[1] for c in provider.calls].count(Paths.SIMULATION) == 1


async def test_the_seeds_own_figures_match_ours() -> None:
    provider = Provider(answer())
    simulated = await ActivityEnvironment().run(provider.activities().simulate, SimulateInput(request=_request()))
    assert simulated.pricing_check.matches, simulated.pricing_check
    assert simulated.options[0].issue_amount == SEED_ISSUE


@pytest.mark.parametrize(
    ("field", "theirs", "ours"),
    [
        ("installment_face_value", "300.01", ("installment_value", "300")),
        ("disbursed_amount", "12007.59", ("released_amount", "12007.60")),
        ("iof_amount", "414.68", ("total_iof", "414.67")),  # README: the IOF of seed 003's operation
        ("monthly_cet", "0.0200", ("monthly_cet", "0.0199")),  # README: 1.99 % a month
        ("annual_cet", "0.266771", ("annual_cet", "0.266770")),
    ],
)
async def test_each_figure_that_differs_is_named(field: str, theirs: str, ours: tuple[str, str]) -> None:
    provider = Provider(answer(**{field: theirs}))
    simulated = await ActivityEnvironment().run(provider.activities().simulate, SimulateInput(request=_request()))
    check = simulated.pricing_check
    assert not check.matches
    [mismatch] = check.mismatches
    assert (mismatch.field, Decimal(mismatch.ours or "nan"), Decimal(mismatch.theirs or "nan")) == (
        ours[0],
        Decimal(ours[1]),
        Decimal(theirs),
    )


async def test_an_answer_without_an_issue_amount_creates_nothing() -> None:
    provider = Provider({"status": "ok"})
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(provider.activities().simulate, SimulateInput(request=_request()))
    assert refused.value.type == BUSINESS_ERROR and "operation.issue_amount" in str(refused.value)


async def test_a_table_rate_above_the_cap_is_refused_before_anything_is_sent() -> None:
    """Seed 003's own implied rate (1.8779 %) against the second provider's product, whose INSS
    rules cap it at 1.85 %: neither the simulation nor the creation reaches the provider."""
    provider = Provider(answer())
    adapter = provider.activities(engine=PROVIDER_B_PRODUCT)
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as refused:
        await env.run(adapter.simulate, SimulateInput(request=_request()))
    assert refused.value.type == BUSINESS_ERROR and refused.value.non_retryable
    assert "operation.cod_tabela" in str(refused.value.details) and "above the cap" in str(refused.value)
    creation = CreateOperationInput(loan_id="loan-1", request=_request(), benefit=BENEFIT)
    with pytest.raises(ApplicationError):
        await env.run(adapter.create_operation, creation)
    assert provider.calls == []


async def test_without_a_consultation_the_operation_goes_sem_in100_from_the_request() -> None:
    """Seed 003 observação 3: ``IN100`` False is the "Sem IN100" flow. With no consultation the
    assistance type and the account come from the request; without them nothing is sent."""
    body = _request().model_dump(mode="json")
    body["benefit"] = {**body["benefit"], "assistance_type": "retirement_by_age"}
    body["disbursement_accounts"] = [
        {"bank_code": "341", "branch_number": "0155", "account_number": "000059923", "account_digit": "6"}
    ]
    request = LoanRequest.model_validate(body)
    provider = Provider(answer())
    adapter = provider.activities()
    env = ActivityEnvironment()
    [option] = (await env.run(adapter.simulate, SimulateInput(request=request))).options
    await env.run(
        adapter.create_operation,
        CreateOperationInput(loan_id="loan-1", request=request, benefit=None, in100=False, priced=option),
    )
    [(_, _, sent)] = [c for c in provider.calls if c[1] == Paths.OPERATION]
    assert sent["operation"]["IN100"] is False
    assert sent["operation"]["assistance_type"] == "retirement_by_age"
    assert sent["client"]["bank_account"]["bank_code"] == "341" and sent["client"]["bank_account"]["ispb_number"]

    bare = Provider(answer())
    with pytest.raises(ApplicationError) as refused:
        await env.run(
            bare.activities().create_operation,
            CreateOperationInput(loan_id="loan-2", request=_request(), benefit=None, in100=False, priced=option),
        )
    assert "operation.assistance_type" in str(refused.value) and "client.bank_account" in str(refused.value)
    assert bare.calls == []
