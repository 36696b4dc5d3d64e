"""Gateway configuration from the environment (prefix ``GATEWAY_``); the inbox's database from
``DATABASE_*``. The gateway needs neither Temporal nor the codec keys: it only verifies, stores
(sealed to the relay's key) and answers."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.qitech.webhook_signature import DEFAULT_TOLERANCE_SECONDS
from activities.qitech.webhook_v2 import pem
from activities.wire import MAX_DEPTH
from runtime.settings import require_production_secrets


class SignatureScheme(StrEnum):
    WEBHOOK_V2 = "webhook-v2"  # the provider's published ES512 JWT, and its signed acknowledgement
    HMAC = "hmac"  # a shared secret (for providers that sign that way)


class GatewaySettings(BaseSettings):
    """In production it refuses to be built without the keys its signature scheme needs, or with a
    published one (create_app refuses missing keys in any environment)."""

    # hide_input_in_errors: a refusal's message must not print the signing key.
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 8090
    providers: str = "sandbox,qitech"  # the {provider} path names we accept
    signature_scheme: SignatureScheme = SignatureScheme.WEBHOOK_V2
    # webhook-v2: the provider's public key(s), PEM (several while it rotates), our API client key
    # (API-CLIENT-KEY, checked and echoed) and our private key, which signs the acknowledgement.
    provider_public_keys: str = ""
    api_client_key: str = ""
    signing_key: SecretStr = SecretStr("")
    # hmac: comma-separated shared secrets, the current first.
    webhook_secrets: SecretStr = SecretStr("")
    signature_tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    # The relay's X25519 public key the bodies are sealed to ("id:base64"): the gateway cannot open them.
    inbox_public_key: str = ""
    max_body_bytes: int = 1_000_000
    # Arrays and objects nested deeper are refused (400) before any parser recurses (activities.wire).
    max_json_depth: int = MAX_DEPTH

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if self.signature_scheme == SignatureScheme.HMAC:
            keys: dict[str, str | SecretStr] = {"GATEWAY_WEBHOOK_SECRETS": self.webhook_secrets}
        else:
            keys = {
                "GATEWAY_PROVIDER_PUBLIC_KEYS": self.provider_public_keys,
                "GATEWAY_SIGNING_KEY": self.signing_key,
                # Without it the verifier skips the provider's API-CLIENT-KEY check.
                "GATEWAY_API_CLIENT_KEY": self.api_client_key,
            }
        require_production_secrets({**keys, "GATEWAY_INBOX_PUBLIC_KEY": self.inbox_public_key})
        return self

    def secrets(self) -> list[bytes]:
        return [s.strip().encode() for s in self.webhook_secrets.get_secret_value().split(",") if s.strip()]

    def public_keys(self) -> list[str]:
        marker = "-----END PUBLIC KEY-----"
        text = pem(self.provider_public_keys)
        return [part.strip() + "\n" + marker + "\n" for part in text.split(marker) if part.strip()]

    def provider_names(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.providers.split(",") if p.strip())
