"""How the provider authenticates a request, as its pages publish it — written here on its own, from the
pages, not imported from the client it checks (docs.qitech.com.br/documentation/primeiros_passos/
teste_de_autenticacao/teste_de_autenticacao_v2, .../possiveis_erros):

- ``API-CLIENT-KEY`` names the integration: missing, 400 ``GDF000003``; unknown, 404 ``GDF000018``;
- ``AUTHORIZATION`` is a bare JWT signed ES512 with the integration's registered public key, whose
  claims are ``payload_md5`` (hex MD5 of the body bytes; a request without a body hashes ``{}``, as the
  page's sample code does), ``timestamp`` (UTC, ``%Y-%m-%dT%H:%M:%S.%fZ``), ``method`` and ``uri`` (the
  path called, with its query). Anything else — no token, a bad signature, another body, method or
  URI, a timestamp outside the tolerance — is 401 ``GDF000014`` "QI Unauthenticated".
The tolerance is not published: five minutes either way (the README's assumptions).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from devtools.sandbox.refusal import ProviderRefusal

TOLERANCE = timedelta(minutes=5)
EMPTY_BODY = b"{}"


def _unauthenticated(why: str) -> ProviderRefusal:
    return ProviderRefusal(
        401, "GDF000014", f"Failed while decoding the authentication token ({why})", "QI Unauthenticated"
    )


class RequestAuthentication:
    def __init__(self, api_client_key: str, lender_public_key: str) -> None:
        self.api_client_key = api_client_key
        self._key = load_pem_public_key(lender_public_key.replace("\\n", "\n").strip().encode() + b"\n")

    def check(self, method: str, uri: str, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        client_key = headers.get("api-client-key")
        if not client_key:
            raise ProviderRefusal(400, "GDF000003", "API-CLIENT-KEY header is missing", "Bad Request")
        if not hmac.compare_digest(client_key.encode(), self.api_client_key.encode()):
            raise ProviderRefusal(404, "GDF000018", "No ClientIntegration found for this key", "Not Found")
        token = headers.get("authorization")
        if not token:
            raise _unauthenticated("no token")
        try:
            claims = jwt.decode(token, self._key, algorithms=["ES512"])  # type: ignore[arg-type]
        except jwt.PyJWTError as error:
            raise _unauthenticated(type(error).__name__) from None
        if claims.get("payload_md5") != hashlib.md5(body or EMPTY_BODY, usedforsecurity=False).hexdigest():
            raise _unauthenticated("payload_md5 differs from the body")
        if claims.get("method") != method.upper() or claims.get("uri") != uri:
            raise _unauthenticated("signed for another method or URI")
        try:
            signed_at = datetime.strptime(str(claims.get("timestamp")), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            raise _unauthenticated("timestamp") from None
        if abs(now - signed_at) > TOLERANCE:
            raise _unauthenticated("timestamp outside the tolerance")
