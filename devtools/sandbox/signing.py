"""How the sandbox signs its webhooks and checks the lender's acknowledgement, written here from the
provider's pages (not imported from the gateway or the client it tests):

- "Webhook v2" (docs.qitech.com.br/documentation/primeiros_passos/teste_de_autenticacao/webhook_v2): the
  POST carries ``API-CLIENT-KEY`` and ``AUTHORIZATION``, a compact JWT signed ES512 with the provider's
  key whose claims are those of a signed request — ``payload_md5`` (hex MD5 of the body), ``timestamp``
  (UTC, ``%Y-%m-%dT%H:%M:%S.%fZ``), ``method`` and ``uri`` (the path called).
- The acknowledgement (…/webhooks/notificacoes_baas_e_laas): HTTP 200 whose body is
  ``{"encoded_body": <JWT>}`` and whose ``AUTHORIZATION`` header is signed like a request, with the
  endpoint that received the notification as its ``uri``. The sandbox checks both JWTs with the
  lender's registered public key (the key that signs its requests); what ``encoded_body`` carries is
  not published, so any claims are taken.
- ``hmac``: no page of this provider's; kept for a receiver set up for providers that sign with a shared
  secret, in the shape the gateway's ``hmac`` scheme takes (an interface of ours, not the provider's):
  ``X-Webhook-Timestamp`` (epoch seconds) and ``X-Webhook-Signature`` = ``sha256=`` + the hex
  HMAC-SHA256 of ``"{timestamp}."`` + body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import simplejson

ALGORITHM = "ES512"
TOLERANCE = timedelta(minutes=5)
"""How far an acknowledgement's timestamp may be from the sandbox's clock: not published (the README's
assumptions, as for requests)."""


class NotAcknowledged(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def pem(text: str) -> str:
    """A PEM key as configured: with real newlines, or with ``\\n`` escapes (a one-line setting)."""
    return text.replace("\\n", "\n").strip() + "\n"


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Signing:
    """The sandbox's side of a delivery: how it signs, and how it checks the answer."""

    scheme: str = "webhook-v2"  # or "hmac"
    private_key: str = ""  # the provider's ES512 key (webhook-v2)
    api_client_key: str = ""
    lender_public_key: str = ""  # checks the acknowledgement; empty: an HTTP 200 is enough
    hmac_secret: bytes = b""

    def headers(self, body: bytes, *, uri: str, now: datetime) -> dict[str, str]:
        if self.scheme == "hmac":
            stamp = str(int(now.timestamp()))
            mac = hmac.new(self.hmac_secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            return {"X-Webhook-Timestamp": stamp, "X-Webhook-Signature": f"sha256={mac}"}
        claims = {"payload_md5": _md5(body), "timestamp": _timestamp(now), "method": "POST", "uri": uri}
        token = jwt.encode(claims, pem(self.private_key), algorithm=ALGORITHM)
        return {"AUTHORIZATION": token, "API-CLIENT-KEY": self.api_client_key}

    def accepted(self, status: int) -> bool:
        """Webhook v2 counts only an HTTP 200; a shared-secret receiver any 2xx."""
        return status == 200 or (self.scheme == "hmac" and 200 <= status < 300)

    def check_acknowledgement(self, body: bytes, headers: Mapping[str, str], *, uri: str, now: datetime) -> None:
        """Raise ``NotAcknowledged`` unless the answer is the lender's signed acknowledgement."""
        if self.scheme == "hmac" or not self.lender_public_key:
            return
        key = pem(self.lender_public_key)
        token = headers.get("authorization")
        if not token:
            raise NotAcknowledged("missing_signature")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM])
        except jwt.PyJWTError:
            raise NotAcknowledged("bad_signature") from None
        if claims.get("payload_md5") != _md5(body):
            raise NotAcknowledged("body_mismatch")
        if claims.get("method") != "POST" or claims.get("uri") != uri:
            raise NotAcknowledged("wrong_endpoint")
        try:
            signed_at = datetime.strptime(str(claims.get("timestamp")), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            raise NotAcknowledged("bad_timestamp") from None
        if abs(now - signed_at) > TOLERANCE:
            raise NotAcknowledged("stale_timestamp")
        try:
            encoded = simplejson.loads(body)["encoded_body"]
            jwt.decode(encoded, key, algorithms=[ALGORITHM])
        except (ValueError, KeyError, TypeError, jwt.PyJWTError):
            raise NotAcknowledged("bad_acknowledgement") from None
