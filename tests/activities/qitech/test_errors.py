"""A provider that quotes our request back (in an error's description, an error page, a 2xx we cannot
read) does not get the pensioner's data into our errors: over our real client, against a provider
played by httpx's mock transport."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from activities.qitech.client import ProviderClient
from activities.qitech.errors import ProviderBusinessError, ProviderUnavailable
from tests.conftest import lender_credentials
from tests.support.builders import issuance_request
from tests.support.data import make_cpf

CPF = make_cpf(1)
ACCOUNT = "57555"


def _echoing(answer: Any) -> ProviderClient:
    """A provider whose token endpoint works and whose other endpoints answer ``answer(body)``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return answer(request.content.decode())  # type: ignore[no-any-return]

    return ProviderClient("https://provider.example", lender_credentials(), transport=httpx.MockTransport(handle))


def _personal(body: str) -> list[str]:
    request = json.loads(body)
    borrower = request["borrower"]
    return [borrower["name"], borrower["individual_document_number"], borrower["mother_name"], ACCOUNT]


async def test_a_refusal_that_quotes_the_request_keeps_its_code_not_the_data() -> None:
    sent: list[str] = []

    def refuse(body: str) -> httpx.Response:
        sent.append(body)
        return httpx.Response(
            422, json={"code": "LEG000041", "title": "Request Validator Error", "description": f"rejected: {body}"}
        )

    async with _echoing(refuse) as client:
        with pytest.raises(ProviderBusinessError) as refused:
            await client.issue_debt(issuance_request(CPF, str(uuid.uuid4())))
    personal = _personal(sent[0])
    assert CPF in sent[0] and all(value in sent[0] for value in personal)  # the request did carry them
    error = refused.value
    assert error.code == "LEG000041" and error.status == 422 and not error.retryable
    text = f"{error} {error.description} {error.details()}"
    assert "LEG000041" in str(error)
    assert [value for value in personal if value in text] == []


async def test_an_error_page_that_quotes_the_request_is_scrubbed_too() -> None:
    async with _echoing(lambda body: httpx.Response(400, text=f"<html>bad request {body}</html>")) as client:
        with pytest.raises(ProviderBusinessError) as refused:
            await client.issue_debt(issuance_request(CPF, str(uuid.uuid4())))
    assert CPF not in f"{refused.value} {refused.value.description}"
    assert refused.value.description and refused.value.description.startswith("<html>bad request")


async def test_an_unreadable_answer_names_the_field_not_the_values() -> None:
    def garbage(body: str) -> httpx.Response:
        request = json.loads(body)
        borrower = request["borrower"]
        # The debt's data where an object belongs: pydantic's error text would quote it.
        return httpx.Response(
            201, json={"key": "k", "data": f"{borrower['name']} {borrower['individual_document_number']}"}
        )

    async with _echoing(garbage) as client:
        with pytest.raises(ProviderUnavailable) as unreadable:
            await client.issue_debt(issuance_request(CPF, str(uuid.uuid4())))
    message = str(unreadable.value)
    assert message.startswith("unreadable answer from /debt") and "validation error" in message
    assert "input_value=<redacted>" in message
    assert CPF not in message and "Silva" not in message
