"""A shared-secret webhook signature (HMAC-SHA256 over ``f"{timestamp}.{body}"``), kept as an
option for providers that sign that way; the timestamp travels in its own header and must be within
a tolerance window, so a captured request cannot be replayed later. The provider of the seeds signs
with its published "Webhook v2" scheme instead (provider.webhook_v2, the gateway's default).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Protocol

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(body: bytes, secret: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(body, secret, timestamp)}


class SignatureRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookVerifier(Protocol):
    def verify(self, body: bytes, headers: Mapping[str, str], *, method: str, uri: str) -> None:
        """Return if the request is authentic, else raise SignatureRejected with a short reason."""


class HmacVerifier:
    def __init__(self, secrets: list[bytes], *, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        # More than one secret lets the shared secret rotate without dropping webhooks.
        if not secrets or any(not s for s in secrets):
            raise ValueError("HmacVerifier needs at least one non-empty secret")
        self._secrets = secrets
        self._tolerance = tolerance_seconds

    def verify(
        self, body: bytes, headers: Mapping[str, str], *, method: str = "POST", uri: str = "", now: float | None = None
    ) -> None:
        signature = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
        stamp = headers.get(TIMESTAMP_HEADER) or headers.get(TIMESTAMP_HEADER.lower())
        if not signature or not stamp:
            raise SignatureRejected("missing_signature")
        try:
            timestamp = int(stamp)
        except ValueError:
            raise SignatureRejected("bad_timestamp") from None
        current = time.time() if now is None else now
        if abs(current - timestamp) > self._tolerance:
            raise SignatureRejected("stale_timestamp")
        for secret in self._secrets:
            if hmac.compare_digest(sign(body, secret, timestamp), signature):
                return
        raise SignatureRejected("bad_signature")
