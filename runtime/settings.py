"""Configuration from the environment (pydantic-settings). Secrets are SecretStr: never printed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from codec.aes import AesGcmCodec, parse_keys


class TemporalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEMPORAL_")

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "consignado-loans"


class ProviderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROVIDER_")

    base_url: str = "http://127.0.0.1:8091"
    client_id: str = "lender-dev"
    client_secret: SecretStr = SecretStr("dev-client-secret-change-me")
    timeout_seconds: float = 20.0


class LenderSettings(BaseSettings):
    """What the lender sets for every loan (see activities.mapping.LenderTerms)."""

    model_config = SettingsConfigDict(env_prefix="LENDER_")

    purchaser_cnpj: str = "32402502000135"
    subcorban_cnpj: str | None = None
    fine_monthly_rate: Decimal = Decimal("0.01")
    fine_contract_rate: Decimal = Decimal("0.02")
    product_file: Path | None = None  # the pricing product, for the local cross-check of simulations


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_")

    max_concurrent_activities: int = 200
    max_concurrent_workflow_tasks: int = 200
    max_cached_workflows: int = 2000
    # On SIGTERM: stop polling, let running activities finish for up to this long.
    graceful_shutdown_seconds: float = 30.0
    log_level: str = "INFO"
    metrics_bind: str | None = None  # e.g. "127.0.0.1:9464": Prometheus endpoint for the SDK's metrics

    def worker_limits(self) -> dict[str, Any]:
        """Keyword arguments for ``temporalio.worker.Worker``."""
        return {
            "max_concurrent_activities": self.max_concurrent_activities,
            "max_concurrent_workflow_tasks": self.max_concurrent_workflow_tasks,
            "max_cached_workflows": self.max_cached_workflows,
            "graceful_shutdown_timeout": timedelta(seconds=self.graceful_shutdown_seconds),
        }


class CodecSettings(BaseSettings):
    """Payload encryption (codec.aes) and the codec server. Keys come only from the environment."""

    model_config = SettingsConfigDict(env_prefix="CODEC_")

    keys: SecretStr | None = None  # "key-id:base64,older-id:base64"
    active_key: str | None = None  # which key encrypts; default: the first one
    allow_plaintext: bool = False  # an explicit opt-out, for local experiments only
    server_host: str = "127.0.0.1"
    server_port: int = 8092
    server_token: SecretStr = SecretStr("")
    ui_origins: str = "http://127.0.0.1:8233,http://localhost:8233"

    def codec(self) -> AesGcmCodec:
        if self.keys is None or not self.keys.get_secret_value().strip():
            raise MissingCodecKeys(
                "CODEC_KEYS is not set: loans would be stored with CPFs and names in clear text. "
                "Set CODEC_KEYS (id:base64 key, see python -m codec.keys) or CODEC_ALLOW_PLAINTEXT=true."
            )
        keys = parse_keys(self.keys.get_secret_value())
        return AesGcmCodec(keys, self.active_key or next(iter(keys)))

    def codec_or_none(self) -> AesGcmCodec | None:
        if self.allow_plaintext and (self.keys is None or not self.keys.get_secret_value().strip()):
            return None
        return self.codec()

    def origins(self) -> set[str]:
        return {o.strip() for o in self.ui_origins.split(",") if o.strip()}


class MissingCodecKeys(RuntimeError):
    pass


class PiiSettings(BaseSettings):
    """The key of the keyed hash that lets operators find a loan by CPF without storing the CPF."""

    model_config = SettingsConfigDict(env_prefix="PII_")

    hash_key: SecretStr = SecretStr("")
