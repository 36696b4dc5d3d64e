"""Configuration from the environment (pydantic-settings). Secrets are SecretStr: never printed.

Fail closed: production is the default environment (``CONSIGNADO_ENV``, see codec.environment,
re-exported here), and every settings class holding a secret refuses, when it is built in
production, a secret that is missing or a development value, naming the variable. Entry points need
no call of their own: building the settings is the check.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.worker import WorkerDeploymentConfig

from domain.documents import normalize_cnpj
from runtime.codec.environment import (
    DEVELOPMENT_VALUES,
    ENV_VARIABLE,
    Environment,
    EnvironmentSettings,
    InsecureConfiguration,
    current_environment,
    is_development,
    is_development_value,
    refuse_in_production,
    require_production_secrets,
    secret_problems,
)

__all__ = [
    "DEVELOPMENT_VALUES",
    "ENV_VARIABLE",
    "Environment",
    "EnvironmentSettings",
    "InsecureConfiguration",
    "current_environment",
    "is_development",
    "is_development_value",
    "refuse_in_production",
    "require_production_secrets",
    "secret_problems",
]

ENVCONFIG_NAMES = frozenset(
    {
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
        "TEMPORAL_PROFILE",
        "TEMPORAL_CONFIG_FILE",
    }
)
"""What ``temporalio.envconfig`` reads from the environment (as the ``temporal`` CLI does)."""

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"


class TemporalSettings(BaseSettings):
    """Which Temporal cluster, namespace and task queue.

    The connection itself (address, namespace, TLS or mTLS, API key) is Temporal's own environment
    configuration (``temporalio.envconfig``), read the way the ``temporal`` CLI reads it:
    ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS``,
    ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``..._CLIENT_KEY_PATH`` / ``..._SERVER_CA_CERT_PATH`` /
    ``..._SERVER_NAME``, or a profile file (``TEMPORAL_CONFIG_FILE``, ``TEMPORAL_PROFILE``).
    ``address`` and ``namespace`` given here override it (the local stack and the tests do).
    """

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_")

    address: str | None = None
    namespace: str | None = None
    task_queue: str = "consignado-loans"
    profile: str | None = None
    config_file: Path | None = None

    def connect_config(self) -> ClientConnectConfig:
        """Keyword arguments for ``Client.connect``: the profile (file, then environment), our overrides."""
        profile = ClientConfigProfile.load(
            self.profile, config_source=self.config_file, disable_file=self.config_file is None and not self.profile
        )
        config = profile.to_client_connect_config()
        if self.address:
            config["target_host"] = self.address
        if self.namespace:
            config["namespace"] = self.namespace
        config.setdefault("target_host", DEFAULT_TEMPORAL_ADDRESS)
        config.setdefault("namespace", DEFAULT_NAMESPACE)
        return config

    def where(self) -> str:
        """``namespace@address`` for log lines (never the API key)."""
        config = self.connect_config()
        tls = " (TLS)" if config.get("tls") else ""
        return f"{config.get('namespace')}@{config.get('target_host')}{tls}"


class ProviderSettings(BaseSettings):
    # hide_input_in_errors: a refusal's message must not print the other settings' values.
    model_config = SettingsConfigDict(env_prefix="PROVIDER_", hide_input_in_errors=True)

    # Unset: this worker does not speak to the first provider (a second-provider-only lender) and
    # needs none of its secrets; its loans then have no IN100 consultation (ROUTING_PROVIDERS).
    base_url: str | None = None
    # The published request signature (docs.qitech.com.br/documentation/primeiros_passos/troca_de_chaves):
    # the integration's key, the lender's ES512 (P-521) private key whose public half the provider holds
    # (PEM; one line with \\n escapes is fine), and the provider's public key, which verifies what it
    # sends signed. Unset in production: the worker refuses to start, naming the variable.
    api_client_key: str = ""
    signing_key: SecretStr = SecretStr("")
    public_key: str = ""
    timeout_seconds: float = 20.0

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if not self.base_url:  # only a worker that speaks to the first provider holds its secrets
            return self
        require_production_secrets(
            {
                "PROVIDER_API_CLIENT_KEY": self.api_client_key,
                "PROVIDER_SIGNING_KEY": self.signing_key,
                "PROVIDER_PUBLIC_KEY": self.public_key,
            }
        )
        return self


class ProviderBSettings(BaseSettings):
    """The second provider (seed 003). Unset ``PROVIDER_B_BASE_URL``: this worker does not speak to it
    (its loans wait for a worker that does)."""

    model_config = SettingsConfigDict(env_prefix="PROVIDER_B_", hide_input_in_errors=True)

    base_url: str | None = None
    username: str = ""
    password: SecretStr = SecretStr("")
    timeout_seconds: float = 20.0
    # The pricing product our engine checks its answers with (domain.pricing.product.ProductConfig as
    # JSON); unset: PROVIDER_B_PRODUCT, the reading of seed 003.
    product_file: Path | None = None

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if self.base_url:  # only a worker that speaks to the second provider holds its credentials
            require_production_secrets({"PROVIDER_B_USERNAME": self.username, "PROVIDER_B_PASSWORD": self.password})
        return self


PROVIDER_EXAMPLE_CNPJ = "32402502000135"
"""The ``purchaser_document_number`` the provider's pages and seed 004 print in every example (the
provider's own): a development default, never a production lender's assignee."""


class LenderSettings(BaseSettings):
    """What the lender sets for every loan (see loan.mapping.LenderTerms). Fail closed: in production the
    assignee's CNPJ must be set and must not be the provider's example; in development it defaults to it
    (what the sandbox's examples carry)."""

    model_config = SettingsConfigDict(env_prefix="LENDER_")

    purchaser_cnpj: str = ""
    subcorban_cnpj: str | None = None
    fine_monthly_rate: Decimal = Decimal("0.01")
    fine_contract_rate: Decimal = Decimal("0.02")
    product_file: Path | None = None  # the pricing product, for the local cross-check of simulations

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        problems = secret_problems({"LENDER_PURCHASER_CNPJ": self.purchaser_cnpj})
        if digits_of(self.purchaser_cnpj) == PROVIDER_EXAMPLE_CNPJ:
            problems.append(
                "LENDER_PURCHASER_CNPJ is the provider's example CNPJ (printed in its documentation): "
                "set the lender's own assignee (cessionário)"
            )
        refuse_in_production(problems)
        if not self.purchaser_cnpj.strip():
            self.purchaser_cnpj = PROVIDER_EXAMPLE_CNPJ  # development only (production refused above)
        try:
            self.purchaser_cnpj = normalize_cnpj(self.purchaser_cnpj)
        except ValueError as error:
            raise ValueError(f"LENDER_PURCHASER_CNPJ: {error}") from None
        return self


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_")

    max_concurrent_activities: int = 200
    max_concurrent_workflow_tasks: int = 200
    max_cached_workflows: int = 2000
    # On SIGTERM: stop polling, let running activities finish for up to this long.
    graceful_shutdown_seconds: float = 30.0
    log_level: str = "INFO"
    metrics_bind: str | None = None  # e.g. "127.0.0.1:9464": Prometheus endpoint for the SDK's metrics
    # Seconds between two counts of the loans in each stage (ops.loan_census; 0: none). Needs metrics_bind.
    loan_census_seconds: float = 60.0
    # Worker Versioning: both set → this worker is one build of a Worker Deployment. Loans then
    # auto-upgrade to the deployment's current build (see README, "Worker Versioning").
    deployment_name: str | None = None
    build_id: str | None = None
    # What this worker runs: ``all`` (the default), ``workflows`` (the loans' workflow tasks and their
    # local activities, no activity tasks) or ``activities`` (activity tasks only). Split, a loan's
    # cached state and the parsing of the providers' answers live in different processes (README,
    # "What matters at scale"); both kinds must poll the task queue.
    role: Literal["all", "workflows", "activities"] = "all"

    def worker_limits(self) -> dict[str, Any]:
        """Keyword arguments for ``temporalio.worker.Worker``."""
        return {
            "max_concurrent_activities": self.max_concurrent_activities,
            "max_concurrent_workflow_tasks": self.max_concurrent_workflow_tasks,
            "max_cached_workflows": self.max_cached_workflows,
            "graceful_shutdown_timeout": timedelta(seconds=self.graceful_shutdown_seconds),
        }

    def deployment(self) -> WorkerDeploymentConfig | None:
        """The worker's deployment version, or None for an unversioned worker (the local stack)."""
        if not self.deployment_name and not self.build_id:
            return None
        if not (self.deployment_name and self.build_id):
            raise ValueError("WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID go together: set both or neither")
        return WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(deployment_name=self.deployment_name, build_id=self.build_id),
            use_worker_versioning=True,
            # Loans live for weeks, past any build: they move to each new current build at their
            # next workflow task, and every change to workflow code is replay-safe (patched).
            default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
        )


class PiiSettings(BaseSettings):
    """The key of the keyed hash that lets operators find a loan by CPF without storing the CPF."""

    model_config = SettingsConfigDict(env_prefix="PII_", hide_input_in_errors=True)

    hash_key: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        # Optional (without it, loans are not searchable by CPF), but a published key would make the
        # CPF hashes in the visibility store reversible (a CPF has only 10^9 values).
        require_production_secrets({"PII_HASH_KEY": self.hash_key}, optional={"PII_HASH_KEY"})
        return self
