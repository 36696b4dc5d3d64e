"""The provider's published webhook protocol ("Webhook v2": an ES512 JWT in AUTHORIZATION over
method, URI, the body's MD5 and a timestamp, with API-CLIENT-KEY; the lender answers with a signed
``encoded_body``). The tokens here are built with PyJWT from the published claim names, not with the
code under test, so a verifier that drifted from the protocol fails."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from activities.qitech import webhook_v2
from activities.qitech.webhook_signature import SignatureRejected

PROVIDER_KEY = webhook_v2.new_private_key()
OTHER_KEY = webhook_v2.new_private_key()
LENDER_KEY = webhook_v2.new_private_key()
CLIENT_KEY = "20d6a816-1111-4c2b-9a55-0c8a8d2f3a10"
URI = "/webhooks/qitech"
BODY = json.dumps({"webhook_type": "debt", "key": "k", "status": "disbursed", "data": {}}).encode()


def _published_token(body: bytes, *, key: str = PROVIDER_KEY, at: datetime | None = None, **claims: Any) -> str:
    signed_at = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the page's example format
    payload = {
        "payload_md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
        "timestamp": signed_at,
        "method": "POST",
        "uri": URI,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="ES512")


def _headers(token: str, client_key: str = CLIENT_KEY) -> dict[str, str]:
    return {"AUTHORIZATION": token, "API-CLIENT-KEY": client_key}


def _verifier(*keys: str) -> webhook_v2.WebhookV2Verifier:
    public = [webhook_v2.public_key_of(k) for k in (keys or (PROVIDER_KEY,))]
    return webhook_v2.WebhookV2Verifier(public, api_client_key=CLIENT_KEY)


def _refusal(body: bytes, headers: dict[str, str], verifier: webhook_v2.WebhookV2Verifier | None = None) -> str:
    with pytest.raises(SignatureRejected) as refused:
        (verifier or _verifier()).verify(body, headers, method="POST", uri=URI)
    return refused.value.reason


def test_a_webhook_signed_as_published_is_accepted() -> None:
    _verifier().verify(BODY, _headers(_published_token(BODY)), method="POST", uri=URI)


def test_headers_are_read_whatever_their_case() -> None:
    headers = {"authorization": _published_token(BODY), "api-client-key": CLIENT_KEY}
    _verifier().verify(BODY, headers, method="POST", uri=URI)


def test_forged_by_another_key_is_refused() -> None:
    assert _refusal(BODY, _headers(_published_token(BODY, key=OTHER_KEY))) == "bad_signature"


def test_a_verifier_holding_the_wrong_public_key_refuses() -> None:
    assert _refusal(BODY, _headers(_published_token(BODY)), _verifier(OTHER_KEY)) == "bad_signature"


def test_while_the_provider_rotates_either_key_verifies() -> None:
    verifier = _verifier(OTHER_KEY, PROVIDER_KEY)
    for key in (OTHER_KEY, PROVIDER_KEY):
        verifier.verify(BODY, _headers(_published_token(BODY, key=key)), method="POST", uri=URI)


def test_a_tampered_body_is_refused() -> None:
    token = _published_token(BODY)
    assert _refusal(BODY.replace(b"disbursed", b"canceled"), _headers(token)) == "body_mismatch"


def test_stale_and_future_dated_signatures_are_refused() -> None:
    now = datetime.now(UTC)
    stale = _published_token(BODY, at=now - timedelta(minutes=6))
    future = _published_token(BODY, at=now + timedelta(minutes=6))
    assert _refusal(BODY, _headers(stale)) == "stale_timestamp"
    assert _refusal(BODY, _headers(future)) == "future_timestamp"
    # Inside the tolerance, clocks a little apart are fine.
    _verifier().verify(BODY, _headers(_published_token(BODY, at=now - timedelta(minutes=4))), method="POST", uri=URI)


def test_a_signature_for_another_endpoint_or_method_is_refused() -> None:
    assert _refusal(BODY, _headers(_published_token(BODY, uri="/webhooks/other"))) == "wrong_endpoint"
    assert _refusal(BODY, _headers(_published_token(BODY, method="PUT"))) == "wrong_endpoint"


def test_missing_signature_and_wrong_client_key_are_refused() -> None:
    assert _refusal(BODY, {"API-CLIENT-KEY": CLIENT_KEY}) == "missing_signature"
    assert _refusal(BODY, _headers(_published_token(BODY), client_key="someone-else")) == "wrong_client_key"


def test_a_token_that_is_not_a_jwt_or_has_no_timestamp_is_refused() -> None:
    assert _refusal(BODY, _headers("not.a.jwt")) == "bad_signature"
    no_time = jwt.encode(
        {"payload_md5": hashlib.md5(BODY, usedforsecurity=False).hexdigest(), "method": "POST", "uri": URI},
        PROVIDER_KEY,
        algorithm="ES512",
    )
    assert _refusal(BODY, _headers(no_time)) == "bad_timestamp"


def test_an_hs256_token_is_not_taken_for_es512() -> None:
    # Algorithm confusion: a token "signed" with the public key as an HMAC secret must not pass.
    public = webhook_v2.public_key_of(PROVIDER_KEY)
    claims = jwt.decode(_published_token(BODY), options={"verify_signature": False})
    forged = jwt.encode(claims, public.encode()[:64], algorithm="HS256")
    assert _refusal(BODY, _headers(forged)) == "bad_signature"


# ------------------------------------------------------------------ the acknowledgement


def test_the_acknowledgement_is_signed_by_the_lender_for_the_endpoint_that_received_it() -> None:
    receipt = {"status": "stored", "event_id": "event_key:e-1"}
    body, headers = webhook_v2.acknowledgement(receipt, uri=URI, private_key=LENDER_KEY, api_client_key=CLIENT_KEY)
    lender_public = webhook_v2.public_key_of(LENDER_KEY)
    # What the provider checks, done by hand: encoded_body is a JWT by our key ...
    encoded = json.loads(body)["encoded_body"]
    assert jwt.decode(encoded, lender_public, algorithms=["ES512"]) == receipt
    # ... and the answer's AUTHORIZATION signs this body, for the endpoint that was called.
    claims = jwt.decode(headers["AUTHORIZATION"], lender_public, algorithms=["ES512"])
    assert claims["payload_md5"] == hashlib.md5(body, usedforsecurity=False).hexdigest()
    assert (claims["method"], claims["uri"]) == ("POST", URI)
    assert headers["API-CLIENT-KEY"] == CLIENT_KEY
    assert webhook_v2.verify_acknowledgement(body, headers, uri=URI, public_key=lender_public) == receipt


def test_an_acknowledgement_by_another_key_or_tampered_is_refused() -> None:
    body, headers = webhook_v2.acknowledgement({"status": "stored"}, uri=URI, private_key=OTHER_KEY, api_client_key="")
    lender_public = webhook_v2.public_key_of(LENDER_KEY)
    with pytest.raises(SignatureRejected):
        webhook_v2.verify_acknowledgement(body, headers, uri=URI, public_key=lender_public)
    body, headers = webhook_v2.acknowledgement({"status": "stored"}, uri=URI, private_key=LENDER_KEY, api_client_key="")
    with pytest.raises(SignatureRejected):
        webhook_v2.verify_acknowledgement(body + b" ", headers, uri=URI, public_key=lender_public)


def test_keys_configured_on_one_line_work() -> None:
    one_line = webhook_v2.public_key_of(PROVIDER_KEY).strip().replace("\n", "\\n")
    verifier = webhook_v2.WebhookV2Verifier([one_line], api_client_key=CLIENT_KEY)
    verifier.verify(BODY, _headers(_published_token(BODY)), method="POST", uri=URI)
