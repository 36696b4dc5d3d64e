"""Relay configuration (prefix ``RELAY_``); Temporal from ``TEMPORAL_*``, the store from ``DATABASE_*``,
payload encryption from ``CODEC_*``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RelaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_")

    # The X25519 private key(s) the gateway seals webhook bodies to: "id:base64[,older-id:base64]".
    inbox_private_keys: SecretStr = SecretStr("")
    batch_size: int = 50
    poll_seconds: float = 0.2  # SQLite has no NOTIFY: how often it looks for work when idle
    idle_seconds: float = 5.0  # with PostgreSQL LISTEN: the longest it sleeps without a notification
    retry_seconds: float = 2.0  # first back-off when Temporal refuses a delivery (doubles, up to a minute)
    unrouted_retention: timedelta = timedelta(days=7)
    body_retention: timedelta = timedelta(days=30)
    metrics_bind: str | None = None  # e.g. "127.0.0.1:9465": Prometheus (and /healthz)
