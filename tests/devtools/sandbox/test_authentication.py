"""The sandbox checks every request as the provider publishes it and refuses a wrong one the way the
provider's error page says (401 GDF000014, 400 GDF000003, 404 GDF000018): a tampered body, a wrong URI,
a stale timestamp, a missing or unknown key. Requests here are signed by hand, from the page."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from activities.qitech import webhook_v2
from tests.conftest import API_CLIENT_KEY, LENDER_SIGNING_KEY, SandboxUnderTest
from tests.support.builders import benefits_request
from tests.support.data import make_cpf

pytestmark = pytest.mark.integration

PATH = "/social_security/benefits_request"


def _signature(body: bytes, *, uri: str = PATH, method: str = "POST", at: datetime | None = None, key: str = "") -> str:
    claims = {
        "payload_md5": hashlib.md5(body).hexdigest(),
        "timestamp": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "method": method,
        "uri": uri,
    }
    return jwt.encode(claims, webhook_v2.pem(key or LENDER_SIGNING_KEY), algorithm="ES512")


def _post(sandbox: SandboxUnderTest, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{sandbox.url}{PATH}", content=body, headers={"Content-Type": "application/json", **headers})


def _body() -> bytes:
    return json.dumps(benefits_request(make_cpf(1)).model_dump(mode="json")).encode()


def test_a_request_signed_as_published_is_taken(sandbox: SandboxUnderTest) -> None:
    body = _body()
    taken = _post(sandbox, body, {"API-CLIENT-KEY": API_CLIENT_KEY, "AUTHORIZATION": _signature(body)})
    assert taken.status_code < 300, taken.text


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("tampered body", 401, "GDF000014"),
        ("wrong uri", 401, "GDF000014"),
        ("wrong method", 401, "GDF000014"),
        ("stale timestamp", 401, "GDF000014"),
        ("another key", 401, "GDF000014"),
        ("no signature", 401, "GDF000014"),
        ("no api client key", 400, "GDF000003"),
        ("unknown api client key", 404, "GDF000018"),
    ],
)
def test_a_wrong_signature_is_refused_as_the_provider_refuses_it(
    sandbox: SandboxUnderTest, case: str, status: int, code: str
) -> None:
    body = _body()
    headers = {"API-CLIENT-KEY": API_CLIENT_KEY, "AUTHORIZATION": _signature(body)}
    if case == "tampered body":
        body = body.replace(b'"document_number"', b'"document_number" ')
    elif case == "wrong uri":
        headers["AUTHORIZATION"] = _signature(body, uri="/social_security/balance_request")
    elif case == "wrong method":
        headers["AUTHORIZATION"] = _signature(body, method="PUT")
    elif case == "stale timestamp":
        headers["AUTHORIZATION"] = _signature(body, at=datetime.now(UTC) - timedelta(minutes=6))
    elif case == "another key":
        headers["AUTHORIZATION"] = _signature(body, key=webhook_v2.new_private_key())
    elif case == "no signature":
        del headers["AUTHORIZATION"]
    elif case == "no api client key":
        del headers["API-CLIENT-KEY"]
    elif case == "unknown api client key":
        headers["API-CLIENT-KEY"] = "someone-else"
    refused = _post(sandbox, body, headers)
    assert refused.status_code == status and refused.json()["code"] == code, refused.text
    if status == 401:
        assert refused.json()["title"] == "QI Unauthenticated"


def test_a_get_signs_the_empty_object(sandbox: SandboxUnderTest) -> None:
    uri = "/v2/credit_transfer/participants"
    headers = {"API-CLIENT-KEY": API_CLIENT_KEY}
    taken = httpx.get(
        f"{sandbox.url}{uri}", headers={**headers, "AUTHORIZATION": _signature(b"{}", uri=uri, method="GET")}
    )
    assert taken.status_code == 200, taken.text
    empty = httpx.get(
        f"{sandbox.url}{uri}", headers={**headers, "AUTHORIZATION": _signature(b"", uri=uri, method="GET")}
    )
    assert empty.status_code == 401
