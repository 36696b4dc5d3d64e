"""The second provider's sandbox over real HTTP, driven by our provider_b client: a loan-shaped
operation follows its statuses to its end, a refusal comes back typed, a token is renewed once,
faults classify as the loan's retry policies expect, and creations are counted."""

from __future__ import annotations

import asyncio
import json
import random
import time
from decimal import Decimal

import httpx
import pytest

from activities.provider_b.client import Paths, ProviderBClient
from activities.provider_b.errors import OperationNotFound, OperationOutcomeUnknown, OperationRefused
from activities.provider_b.mapping import Simulated, choose_product, operation_request, simulated, simulation_request
from activities.provider_b.models import OperationRequest, OperationView
from activities.provider_b.status import CANCELED, REFUSED, SANDBOX_PATH, OperationPhase
from activities.qitech.errors import ProviderAuthError, ProviderUnavailable
from domain.benefit import BenefitAccount, BenefitFacts
from tests.activities.provider_b.test_mapping import seed_003_request
from tests.devtools.sandbox_b.conftest import STEP_SECONDS, SandboxBUnderTest
from tests.support.data import make_cpf

pytestmark = pytest.mark.integration

BENEFIT = BenefitFacts(
    benefit_number="2052711150",
    assistance_type="retirement_by_age",
    paying_account=BenefitAccount(bank_code="341", branch_number="0155", account_number="000059923", account_digit="6"),
)


async def loan_operation(client: ProviderBClient, cpf: str) -> OperationRequest:
    """What the loan sends for a seed-003-shaped loan of this CPF, with the sandbox's product table
    and the amounts of its simulation (observação 7)."""
    borrower = seed_003_request().borrower.model_dump(mode="json")
    request = seed_003_request(borrower={**borrower, "cpf": cpf}, request_key=f"sandbox-b-{cpf}")
    product = choose_product(await client.products(), request)
    figures = simulated(await client.simulate(simulation_request(request, product)))
    assert isinstance(figures, Simulated), figures
    return operation_request(request, BENEFIT, product, figures)


async def follow(client: ProviderBClient, debt_key: str, *, within: float = 15.0) -> list[OperationView]:
    """Poll the operation until its status is an end; every distinct status seen, in order."""
    seen: list[OperationView] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        view = await client.operation(debt_key)
        if not seen or seen[-1].dsc_situacao_emprestimo != view.dsc_situacao_emprestimo:
            seen.append(view)
        if view.meaning().final:
            return seen
        await asyncio.sleep(STEP_SECONDS / 3)
    raise AssertionError(f"not final after {within} s: {[v.dsc_situacao_emprestimo for v in seen]}")


def created_for(sandbox_b: SandboxBUnderTest, cpf: str) -> list[dict[str, object]]:
    with sandbox_b.admin() as admin:
        listed: list[dict[str, object]] = admin.get("/_sandbox/operations", params={"document_number": cpf}).json()
    return listed


def scenario(sandbox_b: SandboxBUnderTest, cpf: str, **values: object) -> None:
    with sandbox_b.admin() as admin:
        admin.put(f"/_sandbox/scenarios/{cpf}", json=values).raise_for_status()


async def test_a_loan_shaped_operation_completes_through_its_statuses(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    cpf = make_cpf(1)
    operation = await loan_operation(provider_b, cpf)
    created = await provider_b.create_operation(operation)
    assert created.meaning().phase == OperationPhase.AWAITING_SIGNATURE
    assert created.link_form and created.link_form.endswith(f"/formalizacao/{created.debt_key}")
    assert created.num_contrato and created.num_contrato.endswith("/T")
    assert created.model_extra == {"cod_tabela": "200010"}  # a field beyond the seed's, kept
    seen = await follow(provider_b, created.debt_key)
    assert [v.dsc_situacao_emprestimo for v in seen] == list(SANDBOX_PATH)
    assert [v.meaning().phase for v in seen][-1] == OperationPhase.DISBURSED
    assert seen[-1].meaning().outcome == "completed"
    [listed] = created_for(sandbox_b, cpf)
    assert listed["debt_key"] == created.debt_key and listed["cod_tabela"] == "200010"
    assert listed["issue_amount"] == str(operation.operation.issue_amount)


async def test_the_simulation_answers_the_amounts_and_a_creation_must_send_them(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    """Observação 7: the issue amount is the simulation's. The sandbox prices 84 × 300.00 at the
    table's 1.79 % as seed 003 reads, answers every figure, and refuses an issue amount it did not
    answer; a product's drift shows in its answers."""
    request = seed_003_request(request_key="sandbox-b-simulation")
    product = choose_product(await provider_b.products(), request)
    answer = await provider_b.simulate(simulation_request(request, product))
    assert answer.installment_face_value == Decimal("300")
    assert answer.monthly_interest_rate == Decimal("0.0179")
    assert answer.issue_amount is not None and answer.disbursed_amount is not None and answer.iof_amount is not None
    # Released = issue − IOF − 0.18 % of the issue amount (README, "The second provider's figures").
    deduction = (answer.issue_amount * Decimal("0.0018")).quantize(Decimal("0.01"))
    assert answer.disbursed_amount == answer.issue_amount - answer.iof_amount - deduction
    other = operation_request(
        request,
        BENEFIT,
        product,
        Simulated(issue_amount=answer.issue_amount + 1, disbursed_amount=answer.disbursed_amount),
    )
    with pytest.raises(OperationRefused) as refused:
        await provider_b.create_operation(other)
    assert refused.value.payload_field == "operation.issue_amount"
    with sandbox_b.admin() as admin:
        admin.put(f"/_sandbox/pricing/{product.cod_tabela}", json={"iof_amount": "0.01"}).raise_for_status()
    try:
        drifted = await provider_b.simulate(simulation_request(request, product))
    finally:
        with sandbox_b.admin() as admin:
            admin.put(f"/_sandbox/pricing/{product.cod_tabela}", json={}).raise_for_status()
    assert drifted.iof_amount == answer.iof_amount + Decimal("0.01")
    assert drifted.issue_amount == answer.issue_amount


@pytest.mark.parametrize(
    ("first_digit", "statuses"),
    [
        (2, [*SANDBOX_PATH[:2], REFUSED]),
        (3, [*SANDBOX_PATH[:3], CANCELED]),
    ],
)
async def test_refused_and_canceled_by_first_digit(
    provider_b: ProviderBClient, first_digit: int, statuses: list[str]
) -> None:
    created = await provider_b.create_operation(await loan_operation(provider_b, make_cpf(first_digit)))
    seen = await follow(provider_b, created.debt_key)
    assert [v.dsc_situacao_emprestimo for v in seen] == statuses
    assert seen[-1].meaning().outcome == "canceled"


async def test_a_per_cpf_scenario_overrides_the_digit(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    cpf = make_cpf(1)
    scenario(sandbox_b, cpf, outcome="canceled", ends_after=1, step_seconds=0.1)
    created = await provider_b.create_operation(await loan_operation(provider_b, cpf))
    seen = await follow(provider_b, created.debt_key)
    assert [v.dsc_situacao_emprestimo for v in seen] == [SANDBOX_PATH[0], CANCELED]


async def test_an_operation_stays_in_formalization_until_the_borrower_signs(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    created = await provider_b.create_operation(await loan_operation(provider_b, make_cpf(4)))
    await asyncio.sleep(STEP_SECONDS * 3)
    view = await provider_b.operation(created.debt_key)
    assert view.meaning().phase == OperationPhase.AWAITING_SIGNATURE
    assert created.link_form is not None
    async with httpx.AsyncClient() as browser:  # the borrower, at link_form
        assert "Formalização" in (await browser.get(created.link_form)).text
        (await browser.post(created.link_form)).raise_for_status()
    seen = await follow(provider_b, created.debt_key)
    assert [v.dsc_situacao_emprestimo for v in seen][-1] == SANDBOX_PATH[-1]


async def test_an_empty_name_comes_back_as_the_seeds_typed_error(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    cpf = make_cpf(1)
    request = await loan_operation(provider_b, cpf)
    # model_copy does not validate: past our own strict model, what a buggy caller would send.
    invalid = request.model_copy(update={"client": request.client.model_copy(update={"person_name": ""})})
    with pytest.raises(OperationRefused) as caught:
        await provider_b.create_operation(invalid)
    error = caught.value
    assert (error.status, error.code) == (400, "LEG000041")
    assert error.description == "'' should be non-empty in borrower.name"
    assert (error.field, error.payload_field) == ("borrower.name", "client.person_name")
    assert error.title == "Request Validator Error" and error.translation == "Payload Invalido"
    assert not error.retryable
    assert created_for(sandbox_b, cpf) == []


async def test_the_raw_400_is_in_the_seeds_exact_shape(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    from tests.activities.provider_b import seed003

    payload = (await loan_operation(provider_b, make_cpf(1))).model_dump(mode="json", by_alias=True)
    payload["client"]["person_name"] = ""
    with sandbox_b.admin() as admin:
        token = admin.post(Paths.LOGIN, json={"username": "lender-b-test", "password": "test-password-b"}).json()
        answer = admin.post(Paths.OPERATION, json=payload, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 400
    assert answer.json() == seed003.error_400()
    assert json.loads(answer.json()["data"])["code"] == "LEG000041"


async def test_other_installments_and_unknown_products_are_refused_naming_the_field(
    provider_b: ProviderBClient,
) -> None:
    request = await loan_operation(provider_b, make_cpf(1))
    other = request.model_copy(update={"operation": request.operation.model_copy(update={"cod_tabela": "999999"})})
    with pytest.raises(OperationRefused) as unknown:
        await provider_b.create_operation(other)
    assert unknown.value.field == "operation.cod_tabela"
    wrong = request.model_copy(update={"operation": request.operation.model_copy(update={"cod_tabela": "200020"})})
    with pytest.raises(OperationRefused) as refused:
        await provider_b.create_operation(wrong)  # 200020 is the 96-installment product
    assert refused.value.field == "operation.number_of_installments"


async def test_a_401_after_token_expiry_is_renewed_once(sandbox_b: SandboxBUnderTest) -> None:
    async with sandbox_b.client() as client:
        await client.products()
        with sandbox_b.admin() as admin:
            assert admin.post("/_sandbox/tokens/expire").json()["expired"] >= 1
            issued_before = admin.get("/_sandbox/tokens").json()["issued"]
        table = await client.products()  # 401, one login, the same call again
        assert table.get("200010") is not None
        assert client.logins == 2
        with sandbox_b.admin() as admin:
            assert admin.get("/_sandbox/tokens").json()["issued"] == issued_before + 1


async def test_a_token_refused_twice_is_an_auth_error(sandbox_b: SandboxBUnderTest) -> None:
    async with sandbox_b.client(headers={"X-Sandbox-Faults": json.dumps({"fail_401": 1})}) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await client.products()
    assert caught.value.status == 401 and client.logins == 2


async def test_wrong_credentials_are_an_auth_error(sandbox_b: SandboxBUnderTest) -> None:
    async with ProviderBClient(sandbox_b.url, sandbox_b.credentials("wrong")) as client:
        with pytest.raises(ProviderAuthError):
            await client.products()


async def test_a_5xx_is_retryable_and_created_nothing(
    sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient
) -> None:
    cpf = make_cpf(1)
    scenario(sandbox_b, cpf, faults={"fail_5xx": 2})
    request = await loan_operation(provider_b, cpf)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            await provider_b.create_operation(request)
        assert caught.value.retryable and caught.value.status == 503
    assert created_for(sandbox_b, cpf) == []
    created = await provider_b.create_operation(request)  # the retry a loan's policy makes
    assert [o["debt_key"] for o in created_for(sandbox_b, cpf)] == [created.debt_key]


async def test_a_timeout_after_the_work_is_an_unknown_outcome_not_a_retry(sandbox_b: SandboxBUnderTest) -> None:
    cpf = make_cpf(1)
    scenario(sandbox_b, cpf, faults={"timeout_s": 2})
    async with sandbox_b.client(seconds=0.5) as slow:
        request = await loan_operation(slow, cpf)
        with pytest.raises(OperationOutcomeUnknown) as caught:
            await slow.create_operation(request)
    assert not caught.value.retryable
    # The operation exists though the caller never heard of it: reconcile before creating again.
    assert len(created_for(sandbox_b, cpf)) == 1


async def test_latency_is_injected(sandbox_b: SandboxBUnderTest, provider_b: ProviderBClient) -> None:
    cpf = make_cpf(1)
    created = await provider_b.create_operation(await loan_operation(provider_b, cpf))
    scenario(sandbox_b, cpf, faults={"latency_ms": 300})
    started = time.perf_counter()
    await provider_b.operation(created.debt_key)
    assert time.perf_counter() - started >= 0.3


async def test_an_unknown_debt_key(provider_b: ProviderBClient) -> None:
    with pytest.raises(OperationNotFound) as caught:
        await provider_b.operation("00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 404 and not caught.value.retryable


def test_unknown_fault_names_are_refused(sandbox_b: SandboxBUnderTest) -> None:
    with sandbox_b.admin() as admin:
        response = admin.put(f"/_sandbox/scenarios/{make_cpf(1, random.Random())}", json={"faults": {"explode": 1}})
    assert response.status_code == 422


def test_calls_without_a_token_are_refused(sandbox_b: SandboxBUnderTest) -> None:
    with sandbox_b.admin() as admin:
        assert admin.get(Paths.PRODUCTS).status_code == 401
        assert admin.post(Paths.OPERATION, json={}).status_code == 401
