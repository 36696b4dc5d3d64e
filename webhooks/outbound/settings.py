"""Where the sales channel's events go (prefix ``SALES_CHANNEL_``), read by the relay, whose notifier
delivers them.

Unset ``SALES_CHANNEL_URL``: nothing is sent and the loans' events stay queued in the outbox (visible:
``python -m webhooks.outbound counts``) until a relay with the URL runs.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks import Webhook

from runtime.settings import require_production_secrets

log = logging.getLogger("sales_channel")


class SalesChannelSettings(BaseSettings):
    """In production a URL without its secret (or with a development one) is refused: an unsigned
    event would let anyone who can reach the sales channel forge a loan's news."""

    # hide_input_in_errors: a refusal's message must not print the secret.
    model_config = SettingsConfigDict(env_prefix="SALES_CHANNEL_", hide_input_in_errors=True)

    url: str | None = None  # the receiver's endpoint: every event is POSTed there
    # The Standard Webhooks signing secret shared with the receiver: "whsec_" + base64 (24 to 64 bytes).
    secret: SecretStr = SecretStr("")
    timeout_seconds: float = 10.0  # one delivery, all told: a slow receiver is a failed attempt
    retry_seconds: float = 5.0  # first back-off after a failed delivery (doubles per attempt)
    max_backoff_seconds: float = 600.0  # the back-off's ceiling: a receiver back up is reached within it
    batch_size: int = 50  # loans served per pass (one event each: the next in its order)
    # SQLite: how often the relay asks it whether anything was committed (the smaller of this and
    # RELAY_POLL_SECONDS; runtime.store.queue.sqlite_commits).
    poll_seconds: float = 0.5
    # The longest the notifier sleeps without a notification (PostgreSQL's NOTIFY or SQLite's commit
    # seen): then it reads the outbox anyway, for events whose retry fell due.
    idle_seconds: float = 5.0

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if not self.url:
            return self
        require_production_secrets({"SALES_CHANNEL_SECRET": self.secret})
        if self.secret.get_secret_value():
            signing_key(self.secret)  # a malformed secret is refused here, naming the variable
        return self


SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = (24, 64)  # the Standard Webhooks specification's range for a symmetric secret


def signing_key(secret: SecretStr) -> Webhook:
    """The Standard Webhooks signer for ``secret`` ("whsec_" + base64 of 24 to 64 bytes); a ValueError
    naming the setting (never its value) when it is anything else."""
    value = secret.get_secret_value().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise ValueError(f"SALES_CHANNEL_SECRET is not a whsec_ base64 secret of {low} to {high} bytes")
    return Webhook(key)
