"""Relay configuration (prefix ``RELAY_``); Temporal from ``TEMPORAL_*``, the store from ``DATABASE_*``,
payload encryption from ``CODEC_*``."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import require_production_secrets


class RelaySettings(BaseSettings):
    """In production it refuses a missing or published ``RELAY_INBOX_PRIVATE_KEYS``."""

    # hide_input_in_errors: a refusal's message must not print the private keys.
    model_config = SettingsConfigDict(env_prefix="RELAY_", hide_input_in_errors=True)

    # The X25519 private key(s) the gateway seals webhook bodies to: "id:base64[,older-id:base64]".
    inbox_private_keys: SecretStr = SecretStr("")
    batch_size: int = 50
    # Signals in flight at once, across loans and overlapping passes (a loan's own events always go one
    # after the other). More passes overlap while there is a backlog: ceil(concurrency / batch_size).
    concurrency: int = Field(default=100, ge=1)
    # SQLite has no NOTIFY: how often the relay asks it whether anything was committed (a cheap look at
    # the file, runtime.store.queue.sqlite_commits; the queues are read only when something was).
    poll_seconds: float = 0.2
    # The longest it sleeps without a notification (PostgreSQL's NOTIFY, or SQLite's commit seen): then it
    # reads the queue anyway, for deliveries whose retry fell due and leases that ran out.
    idle_seconds: float = 5.0
    retry_seconds: float = 2.0  # first back-off when Temporal refuses a delivery (doubles, up to a minute)
    # How long a pass holds the events it claimed (longer than a batch's signals can take): a relay killed
    # mid-pass leaves them pending, delivered again when the lease runs out (the storm test shortens it).
    lease_seconds: float = 120.0
    unrouted_retention: timedelta = timedelta(days=7)
    body_retention: timedelta = timedelta(days=30)
    metrics_bind: str | None = None  # e.g. "127.0.0.1:9465": Prometheus (and /healthz)

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        require_production_secrets({"RELAY_INBOX_PRIVATE_KEYS": self.inbox_private_keys})
        return self
