"""The provider's published webhook protocol ("Webhook v2") and the acknowledgement it expects.

Published (docs.qitech.com.br/documentation/primeiros_passos/teste_de_autenticacao/webhook_v2 and
.../webhooks/notificacoes_baas_e_laas; field names only):
- the provider POSTs the plain JSON body with two headers: ``AUTHORIZATION``, a compact JWT signed
  ES512 with the provider's key, whose claims are ``payload_md5`` (hex MD5 of the body),
  ``timestamp`` (UTC, ISO 8601 with ``Z``), ``method`` and ``uri`` (the path called); and
  ``API-CLIENT-KEY``, the integration's key;
- the receiver answers HTTP 200 with a signed body ``{"encoded_body": <JWT>}`` and an
  ``AUTHORIZATION`` header like a request's, whose ``uri`` is the endpoint that received the
  notification; without it the provider retries.

Not published (assumed here, in one place, and listed in the README): the clock skew allowed
(``DEFAULT_TOLERANCE``), what ``encoded_body`` carries (our receipt: the event's identity), that the
acknowledgement is signed with the lender's own key (the one it signs its requests with), and that
``API-CLIENT-KEY`` is echoed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from activities.qitech.webhook_signature import SignatureRejected

AUTHORIZATION = "AUTHORIZATION"
API_CLIENT_KEY = "API-CLIENT-KEY"
ALGORITHM = "ES512"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def pem(text: str) -> str:
    """A PEM key as configured: real newlines, or ``\\n`` escapes where the setting is one line
    (an env file, a Kubernetes Secret literal)."""
    return text.replace("\\n", "\n").strip() + "\n"


@functools.lru_cache(maxsize=32)
def _key(text: str) -> Any:
    """A configured key, parsed once: PEM parsing was about a third of each ES512 signature or check,
    and the gateway signs twice and checks once per webhook, on its event loop. Raises
    ``jwt.InvalidKeyError`` (not cached) on a key PyJWT cannot read, as ``jwt.encode``/``decode`` would."""
    return jwt.get_algorithm_by_name(ALGORITHM).prepare_key(pem(text))


def new_private_key() -> str:
    """A P-521 key in PEM, the curve ES512 signs with."""
    key = ec.generate_private_key(ec.SECP521R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def signed_headers(
    body: bytes, *, method: str, uri: str, private_key: str, api_client_key: str, now: datetime | None = None
) -> dict[str, str]:
    """The headers of a signed request (the provider's webhook, or our acknowledgement)."""
    claims = {
        "payload_md5": _md5(body),
        "timestamp": _timestamp(now or datetime.now(UTC)),
        "method": method.upper(),
        "uri": uri,
    }
    return {AUTHORIZATION: jwt.encode(claims, _key(private_key), algorithm=ALGORITHM), API_CLIENT_KEY: api_client_key}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name) or headers.get(name.lower()) or headers.get(name.title())


@dataclass(frozen=True)
class WebhookV2Verifier:
    """Verifies the provider's signature on a webhook (ES512, its public keys: several while it rotates)."""

    public_keys: Sequence[str]
    api_client_key: str | None = None
    tolerance: timedelta = DEFAULT_TOLERANCE

    def verify(
        self, body: bytes, headers: Mapping[str, str], *, method: str, uri: str, now: datetime | None = None
    ) -> None:
        token = _header(headers, AUTHORIZATION)
        if not token:
            raise SignatureRejected("missing_signature")
        if self.api_client_key is not None and _header(headers, API_CLIENT_KEY) != self.api_client_key:
            raise SignatureRejected("wrong_client_key")
        claims = self._decode(token)
        if claims.get("payload_md5") != _md5(body):
            raise SignatureRejected("body_mismatch")
        if str(claims.get("method", "")).upper() != method.upper() or claims.get("uri") != uri:
            raise SignatureRejected("wrong_endpoint")
        try:
            signed_at = datetime.fromisoformat(str(claims.get("timestamp", "")).replace("Z", "+00:00"))
        except ValueError:
            raise SignatureRejected("bad_timestamp") from None
        if signed_at.tzinfo is None:
            raise SignatureRejected("bad_timestamp")
        current = now or datetime.now(UTC)
        if signed_at < current - self.tolerance:
            raise SignatureRejected("stale_timestamp")
        if signed_at > current + self.tolerance:
            raise SignatureRejected("future_timestamp")

    def _decode(self, token: str) -> dict[str, Any]:
        for key in self.public_keys:
            try:
                claims: dict[str, Any] = jwt.decode(token, _key(key), algorithms=[ALGORITHM])
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                raise SignatureRejected("bad_signature") from None
            return claims
        raise SignatureRejected("bad_signature")


def acknowledgement(
    receipt: Mapping[str, Any], *, uri: str, private_key: str, api_client_key: str, now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """Our answer to a webhook: ``{"encoded_body": JWT(receipt)}`` and its signed headers."""
    encoded = jwt.encode(dict(receipt), _key(private_key), algorithm=ALGORITHM)
    body = json.dumps({"encoded_body": encoded}).encode()
    return body, signed_headers(
        body, method="POST", uri=uri, private_key=private_key, api_client_key=api_client_key, now=now
    )


def verify_acknowledgement(
    body: bytes, headers: Mapping[str, str], *, uri: str, public_key: str, now: datetime | None = None
) -> dict[str, Any]:
    """What the provider checks of our answer (the sandbox does): the signed headers and the
    ``encoded_body`` both verify with the lender's public key. Returns the receipt."""
    WebhookV2Verifier([public_key]).verify(body, headers, method="POST", uri=uri, now=now)
    try:
        token = json.loads(body)["encoded_body"]
        receipt: dict[str, Any] = jwt.decode(token, _key(public_key), algorithms=[ALGORITHM])
    except (ValueError, KeyError, TypeError, jwt.PyJWTError):
        raise SignatureRejected("bad_acknowledgement") from None
    return receipt
