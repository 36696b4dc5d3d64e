"""Gateway configuration from the environment (prefix ``GATEWAY_``); Temporal from ``TEMPORAL_*``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from provider.webhook_signature import DEFAULT_TOLERANCE_SECONDS


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    host: str = "127.0.0.1"
    port: int = 8090
    # Comma-separated: the current secret first; more than one while rotating.
    webhook_secrets: SecretStr = SecretStr("dev-webhook-secret-change-me")
    signature_tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    providers: str = "sandbox,qitech"  # the {provider} path names we accept
    unclaimed_retention: timedelta = timedelta(days=7)
    late_retention: timedelta = timedelta(days=2)

    def secrets(self) -> list[bytes]:
        return [s.strip().encode() for s in self.webhook_secrets.get_secret_value().split(",") if s.strip()]

    def provider_names(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.providers.split(",") if p.strip())
