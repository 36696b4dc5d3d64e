"""The client's token handling and error classification against an in-memory transport (the same
behaviour over real HTTP is in tests/sandbox_b)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from activities.provider_b.client import Credentials, Paths, ProviderBClient
from activities.provider_b.errors import OperationOutcomeUnknown, OperationRefused
from activities.provider_b.models import OperationRequest
from activities.qitech.errors import ProviderAuthError, ProviderUnavailable
from tests.activities.provider_b import seed003

CREDENTIALS = Credentials("lender", SecretStr("secret"))
CREATED = {"debt_key": "k-1", "link_form": "https://f/k-1", "num_contrato": "1/T", "dsc_situacao_emprestimo": "X"}


def _request() -> OperationRequest:
    return OperationRequest.model_validate(seed003.payload())


class Provider:
    """A scripted provider: logins count up, each operation call answers what ``answer`` says."""

    def __init__(self, answer: Callable[[httpx.Request, int], httpx.Response], expires_in: int = 3600) -> None:
        self.answer = answer
        self.expires_in = expires_in
        self.logins = 0
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == Paths.LOGIN:
            assert json.loads(request.content) == {"username": "lender", "password": "secret"}
            self.logins += 1
            return httpx.Response(200, json={"access_token": f"t{self.logins}", "expires_in": self.expires_in})
        self.calls.append(request)
        return self.answer(request, self.logins)

    def client(self) -> ProviderBClient:
        return ProviderBClient("http://provider-b", CREDENTIALS, transport=httpx.MockTransport(self))


async def test_a_401_renews_the_token_once_and_retries() -> None:
    def answer(request: httpx.Request, logins: int) -> httpx.Response:
        if request.headers["authorization"] == "Bearer t1":
            return httpx.Response(401, json={"code": "AUTH"})
        return httpx.Response(200, json=CREATED)

    provider = Provider(answer)
    async with provider.client() as client:
        created = await client.create_operation(_request())
    assert created.debt_key == "k-1"
    assert provider.logins == 2 and client.logins == 2
    assert [c.headers["authorization"] for c in provider.calls] == ["Bearer t1", "Bearer t2"]


async def test_a_second_401_is_an_auth_error() -> None:
    provider = Provider(lambda _request, _logins: httpx.Response(401))
    async with provider.client() as client:
        with pytest.raises(ProviderAuthError) as caught:
            await client.operation("k-1")
    assert provider.logins == 2 and len(provider.calls) == 2
    assert caught.value.retryable  # an operator can fix the secret while loans wait


async def test_an_expired_token_is_renewed_before_the_call() -> None:
    provider = Provider(lambda _r, _l: httpx.Response(200, json={"debt_key": "k-1"}), expires_in=1)  # within the skew
    async with provider.client() as client:
        await client.operation("k-1")
        await client.operation("k-1")
    assert provider.logins == 2


async def test_the_token_is_reused_while_valid() -> None:
    provider = Provider(lambda _r, _l: httpx.Response(200, json=[{"cod_tabela": "200010", "prazos": [84]}]))
    async with provider.client() as client:
        for _ in range(3):
            table = await client.products()
    assert provider.logins == 1 and table.products[0].cod_tabela == "200010"


async def test_refused_credentials() -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "AUTH"})

    async with ProviderBClient("http://p", CREDENTIALS, transport=httpx.MockTransport(transport)) as client:
        with pytest.raises(ProviderAuthError):
            await client.products()


async def test_the_400_body_comes_back_typed() -> None:
    provider = Provider(lambda _r, _l: httpx.Response(400, json=seed003.error_400()))
    async with provider.client() as client:
        with pytest.raises(OperationRefused) as caught:
            await client.create_operation(_request())
    assert caught.value.code == "LEG000041" and caught.value.field == "borrower.name"
    assert caught.value.path == Paths.OPERATION


async def test_a_creation_without_an_answer_may_exist() -> None:
    def answer(request: httpx.Request, _logins: int) -> httpx.Response:
        raise httpx.ReadTimeout("late", request=request)

    async with Provider(answer).client() as client:
        with pytest.raises(OperationOutcomeUnknown) as caught:
            await client.create_operation(_request())
        assert not caught.value.retryable
        # Reading is harmless to repeat: a lost answer there is just unavailability.
        with pytest.raises(ProviderUnavailable):
            await client.operation("k-1")


async def test_a_gateway_timeout_on_creation_may_exist_and_a_503_did_not() -> None:
    async with Provider(lambda _r, _l: httpx.Response(504)).client() as client:
        with pytest.raises(OperationOutcomeUnknown):
            await client.create_operation(_request())
    async with Provider(lambda _r, _l: httpx.Response(503)).client() as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.create_operation(_request())
    assert caught.value.retryable and caught.value.status == 503


async def test_a_connection_refused_was_never_sent() -> None:
    def answer(request: httpx.Request, _logins: int) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with Provider(answer).client() as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.create_operation(_request())
    assert type(caught.value) is ProviderUnavailable and caught.value.retryable


async def test_an_unreadable_answer_is_retryable_and_says_where() -> None:
    async with Provider(lambda _r, _l: httpx.Response(200, json={"link_form": "x"})).client() as client:
        with pytest.raises(ProviderUnavailable, match="debt_key"):
            await client.create_operation(_request())


async def test_the_body_is_sent_as_the_seed_prints_it_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    provider = Provider(lambda _r, _l: httpx.Response(201, json=CREATED))
    caplog.set_level(logging.DEBUG)
    async with provider.client() as client:
        await client.create_operation(_request())
    [call] = provider.calls
    assert call.method == "POST" and call.url.path == "/inss/v1/operation"
    assert json.loads(call.content) == json.loads(json.dumps(seed003.payload(), default=float))
    assert "IVOLANDO" not in caplog.text and "12345678909" not in caplog.text
    assert "/inss/v1/operation" in caplog.text
