"""Configuration from the environment (pydantic-settings). Secrets are SecretStr: never printed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
