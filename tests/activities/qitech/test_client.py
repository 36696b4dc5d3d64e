"""The provider client's error classification, over real HTTP against the sandbox process."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from pydantic import SecretStr

from activities.qitech import webhook_v2
from activities.qitech.client import Credentials, ProviderClient, Signer
from activities.qitech.errors import ProviderAuthError, ProviderBusinessError, ProviderSuspended, ProviderUnavailable
from activities.qitech.models.debt import ChangeDisbursementDate
from tests.conftest import SandboxUnderTest
from tests.support.builders import benefits_request, issuance_request, today
from tests.support.data import make_cpf
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


def _faults(**values: object) -> dict[str, str]:
    return {"X-Sandbox-Faults": json.dumps(values)}


def _client_with_headers(sandbox: SandboxUnderTest, headers: dict[str, str], seconds: float = 5.0) -> ProviderClient:
    client = ProviderClient(sandbox.url, sandbox.credentials(), timeout=httpx.Timeout(seconds))
    client._http.headers.update(headers)
    return client


async def test_a_call_returns_the_parsed_answer(provider: ProviderClient) -> None:
    created = await provider.request_benefits(benefits_request(make_cpf(1)), idempotency_key=str(uuid.uuid4()))
    assert uuid.UUID(created.benefits_request_key)
    assert created.status == "pending_search"


async def test_5xx_is_retryable(sandbox: SandboxUnderTest) -> None:
    async with _client_with_headers(sandbox, _faults(fail_5xx=1)) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request_benefits(benefits_request(make_cpf(1)), idempotency_key=str(uuid.uuid4()))
    assert caught.value.retryable and caught.value.status == 503


async def test_suspended_is_retryable_not_before_30_seconds(sandbox: SandboxUnderTest) -> None:
    async with _client_with_headers(sandbox, _faults(suspended=1)) as client:
        with pytest.raises(ProviderSuspended) as caught:
            await client.request_benefits(benefits_request(make_cpf(1)), idempotency_key=str(uuid.uuid4()))
    assert caught.value.retryable
    assert caught.value.retry_after == 30
    assert caught.value.code == "AM 303001"


async def test_timeout_is_retryable_and_the_retry_does_not_create_a_second_request(sandbox: SandboxUnderTest) -> None:
    cpf, key = make_cpf(1), str(uuid.uuid4())
    async with _client_with_headers(sandbox, _faults(timeout_s=3), seconds=0.5) as slow:
        with pytest.raises(ProviderUnavailable, match="timeout"):
            await slow.request_benefits(benefits_request(cpf), idempotency_key=key)
    async with ProviderClient(sandbox.url, sandbox.credentials()) as client:
        first = await client.request_benefits(benefits_request(cpf), idempotency_key=key)
        again = await client.request_benefits(benefits_request(cpf), idempotency_key=key)
    assert first.benefits_request_key == again.benefits_request_key
    # The provider did the work once: one consultation, one webhook for it.
    sandbox.receiver.wait_for(first.benefits_request_key)
    with sandbox.admin() as admin:
        sent = admin.get("/_sandbox/webhooks", params={"key": first.benefits_request_key}).json()
    assert len(sent) == 1


async def test_business_error_is_not_retryable_and_carries_the_providers_code(provider: ProviderClient) -> None:
    debt = await provider.issue_debt(issuance_request(make_cpf(1), str(uuid.uuid4())))
    with pytest.raises(ProviderBusinessError) as caught:
        await provider.change_disbursement_date(debt.key, ChangeDisbursementDate(disbursement_date=today()))
    error = caught.value
    assert not error.retryable
    assert (error.status, error.code) == (400, "DBT000040")
    assert "refused payment" in (error.description or "")


async def test_an_invalid_body_gets_the_validator_code_naming_the_field(sandbox: SandboxUnderTest) -> None:
    # Our models would never send this; the point is what the client makes of the provider's 400.
    body, path = b'{"document_number": "123"}', "/social_security/benefits_request"
    headers = {**Signer(sandbox.credentials()).headers("POST", path, body), "Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sandbox.url}{path}", content=body, headers=headers)
    from activities.qitech.client import classify

    error = classify(response, path)
    assert isinstance(error, ProviderBusinessError)
    assert error.code == "LEG000041"
    assert "document_number" in (error.description or "")


async def test_unreachable_provider_is_retryable() -> None:
    credentials = Credentials("x", SecretStr(webhook_v2.new_private_key()))
    async with ProviderClient(f"http://127.0.0.1:{free_port()}", credentials) as client:
        with pytest.raises(ProviderUnavailable, match="cannot reach"):
            await client.request_benefits(benefits_request(make_cpf(1)), idempotency_key="k")


async def test_a_key_the_provider_does_not_hold_is_an_auth_error(sandbox: SandboxUnderTest) -> None:
    stranger = Credentials(sandbox.credentials().api_client_key, SecretStr(webhook_v2.new_private_key()))
    async with ProviderClient(sandbox.url, stranger) as client:
        with pytest.raises(ProviderAuthError):
            await client.request_benefits(benefits_request(make_cpf(1)), idempotency_key="k")


async def test_a_call_without_configured_keys_is_refused_retryably_before_it_leaves(sandbox: SandboxUnderTest) -> None:
    # A development worker starts without the provider's keys; its first call says which are missing,
    # and the sandbox never sees an unsigned request.
    before = (await httpx.AsyncClient().get(f"{sandbox.url}/_sandbox/calls")).json()
    client = ProviderClient(sandbox.url, Credentials(api_client_key="", private_key=SecretStr("")))
    with pytest.raises(ProviderAuthError) as refused:
        await client.request_benefits(benefits_request(make_cpf(1)), idempotency_key=str(uuid.uuid4()))
    assert refused.value.retryable
    assert "PROVIDER_API_CLIENT_KEY" in str(refused.value) and "PROVIDER_SIGNING_KEY" in str(refused.value)
    assert (await httpx.AsyncClient().get(f"{sandbox.url}/_sandbox/calls")).json() == before
