"""Our requests carry the provider's published signature (docs.qitech.com.br/documentation/primeiros_passos/
teste_de_autenticacao/teste_de_autenticacao_v2): checked here by an implementation written in this test
from the page's description — not the client's code — over the requests the client really sends."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from activities.qitech import webhook_v2
from activities.qitech.client import Credentials, ProviderClient, read_answer
from activities.qitech.errors import ProviderAuthError
from tests.support.builders import benefits_request
from tests.support.data import make_cpf

LENDER_KEY = webhook_v2.new_private_key()
PROVIDER_KEY = webhook_v2.new_private_key()
CLIENT_KEY = "0f5e0c8e-1d0c-4f5b-9a47-8d8c2c8a1b11"


def _published_check(request: httpx.Request) -> dict[str, Any]:
    """The page's rules: API-CLIENT-KEY; AUTHORIZATION the bare JWT (no scheme word), ES512 with the
    lender's key, claims exactly payload_md5 (hex MD5 of the body bytes; `{}` where there is none),
    timestamp (UTC, microseconds, a literal Z), method and uri (the path called, with its query)."""
    assert request.headers["API-CLIENT-KEY"] == CLIENT_KEY
    token = request.headers["AUTHORIZATION"]
    assert " " not in token and token.count(".") == 2
    assert jwt.get_unverified_header(token) == {"alg": "ES512", "typ": "JWT"}
    public = webhook_v2.public_key_of(LENDER_KEY)
    claims: dict[str, Any] = jwt.decode(token, public, algorithms=["ES512"])
    assert set(claims) == {"payload_md5", "timestamp", "method", "uri"}
    body = request.content or b"{}"
    assert claims["payload_md5"] == hashlib.md5(body).hexdigest()
    assert claims["method"] == request.method
    assert claims["uri"] == request.url.raw_path.decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", claims["timestamp"])
    signed_at = datetime.strptime(claims["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=1)
    return claims


async def _sent(call: Any, answer: Any = None) -> list[httpx.Request]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=answer if answer is not None else {"key": "k-1", "status": "pending"})

    credentials = Credentials(CLIENT_KEY, SecretStr(LENDER_KEY), webhook_v2.public_key_of(PROVIDER_KEY))
    async with ProviderClient("https://provider.test", credentials, transport=httpx.MockTransport(handler)) as client:
        await call(client)
    return sent


async def test_a_post_is_signed_over_the_exact_body_bytes_it_sends() -> None:
    request = benefits_request(make_cpf(1))
    [sent] = await _sent(
        lambda c: c.request_benefits(request, idempotency_key="k"),
        {"benefits_request_key": "b-1", "status": "pending_search"},
    )
    claims = _published_check(sent)
    assert claims["uri"] == "/social_security/benefits_request" and sent.content
    assert "Bearer" not in sent.headers.get("authorization", "")


async def test_a_get_with_a_query_signs_the_empty_object_and_the_query() -> None:
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    [sent] = await _sent(
        lambda c: c.notification_events(start=start, end=start + timedelta(days=1), callback_status="failed"),
        {"data": []},
    )
    claims = _published_check(sent)
    assert sent.content == b"" and claims["payload_md5"] == hashlib.md5(b"{}").hexdigest()
    assert "?" in claims["uri"] and claims["uri"].startswith("/notification/events?")


async def test_a_multipart_upload_is_signed_over_its_encoded_body() -> None:
    [sent] = await _sent(
        lambda c: c.upload_document(b"\xff\xd8jpeg", filename="f.jpg", content_type="image/jpeg", idempotency_key="u"),
        {"document_key": "d-1"},
    )
    _published_check(sent)
    assert b"jpeg" in sent.content


async def test_each_attempt_is_signed_afresh() -> None:
    request = benefits_request(make_cpf(1))

    async def twice(client: ProviderClient) -> None:
        await client.request_benefits(request, idempotency_key="k")
        await client.request_benefits(request, idempotency_key="k")

    first, second = await _sent(twice, {"benefits_request_key": "b-1", "status": "pending_search"})
    assert first.headers["AUTHORIZATION"] != second.headers["AUTHORIZATION"]  # a new timestamp, a new token


def test_a_signed_answer_is_verified_with_the_providers_key_and_read_as_its_claims() -> None:
    signed = jwt.encode({"key": "b-1", "status": "pending"}, webhook_v2.pem(PROVIDER_KEY), algorithm="ES512")
    body = f'{{"encoded_body": "{signed}"}}'.encode()
    assert read_answer(body, webhook_v2.public_key_of(PROVIDER_KEY)) == {"key": "b-1", "status": "pending"}
    with pytest.raises(ValueError, match="does not verify"):
        read_answer(body, webhook_v2.public_key_of(LENDER_KEY))
    with pytest.raises(ValueError, match="no PROVIDER_PUBLIC_KEY"):
        read_answer(body, None)
    assert read_answer(b'{"key": "plain"}', None) == {"key": "plain"}


async def test_a_refused_signature_is_an_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"title": "QI Unauthenticated", "code": "GDF000014", "description": "Failed while decoding"}
        )

    credentials = Credentials(CLIENT_KEY, SecretStr(LENDER_KEY))
    async with ProviderClient("https://p.test", credentials, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderAuthError) as refused:
            await client.request_benefits(benefits_request(make_cpf(1)), idempotency_key="k")
    assert refused.value.code == "GDF000014"
