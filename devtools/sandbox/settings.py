"""Sandbox configuration, from the environment (prefix ``SANDBOX_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENVIRONMENT_VARIABLE = "CONSIGNADO_ENV"
"""The deployment's switch every process of the stack reads: ``development`` on a developer's machine
and in the tests, ``production`` (the default) anywhere else — the compose stack's staging sandbox."""

PUBLISHED_VALUES = frozenset({"7d0c3b0e-2f4a-4f55-9d1c-3a7e0b5c2a10", "test-client-secret"})
"""Secrets committed in this repository for the sandbox (the tests' API client key and client secret):
outside development never accepted."""
PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace_me", "replace-me")


def _development() -> bool:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "production").strip().lower() or "production"
    if value not in {"production", "development"}:
        # A typo ("dev", "prod") must neither pass for development nor go unnoticed.
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be 'production' (the default) or 'development'")
    return value == "development"


def refuse_missing_secrets(secrets: dict[str, str | SecretStr]) -> None:
    """Fail closed: outside development every secret is set and is none of the published values,
    named by its variable (never its value)."""
    problems = []
    for variable, value in secrets.items():
        text = (value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
        if not text:
            problems.append(f"{variable} is not set")
        elif text in PUBLISHED_VALUES or any(marker in text.lower() for marker in PLACEHOLDER_MARKERS):
            problems.append(f"{variable} holds a development value published in this repository")
    if not _development() and problems:
        raise ValueError(
            "refusing to start in production: "
            + "; ".join(problems)
            + f". Give this sandbox its own values, or set {ENVIRONMENT_VARIABLE}=development on a developer's machine."
        )


class SandboxSettings(BaseSettings):
    """The provider double. Outside a developer's machine (the compose stack's staging sandbox) it
    refuses the development credentials and a missing signing key or secret, naming the variable."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 8091
    webhook_url: str = "http://127.0.0.1:8090/webhooks/sandbox"
    # How it signs its webhooks: the provider's published "webhook-v2" (ES512 JWT, its private key;
    # the lender's public key checks the acknowledgement) or "hmac" (a shared secret).
    webhook_signature_scheme: str = "webhook-v2"
    webhook_signing_key: SecretStr = SecretStr("")
    # The integration it authenticates: the lender's API client key and its registered public key, which
    # checks every request's signature (and the webhooks' signed acknowledgements).
    api_client_key: str = ""
    lender_public_key: str = ""
    webhook_secret: SecretStr = SecretStr("")
    # The published delivery policy: three retries five minutes apart, then the callback is failed.
    webhook_retries: int = 3
    webhook_retry_seconds: float = 300.0
    webhook_timeout_seconds: float = 5.0
    # How long the "provider" takes before each asynchronous answer (consultation, averbação, ...).
    processing_delay_seconds: float = 0.2
    # After an averbação error with action "cancel", how long before the final canceled webhook
    # (a PATCH collateral within it retries the averbação instead).
    cancel_grace_seconds: float = 5.0
    # Teimosinha: how often a retryable averbação error is tried again.
    teimosinha_interval_seconds: float = 2.0
    # For benchmarks: date each teimosinha attempt this many seconds after the previous one (the
    # provider's cadence, e.g. 3600), however fast the attempts really come. 0: real time. Attempts
    # dated within the same second would be the same webhook, and be deduplicated as such.
    teimosinha_clock_step_seconds: float = 0.0
    # The lender's product at the provider, as JSON (sandbox.pricing.Product.from_json: fees, which are
    # deducted and counted, the first-due-date figures, the Port+Refin limits); unset: Product()'s.
    product_file: Path | None = None
    # Port+Refin (sandbox.portability): how long the beneficiary takes to answer the portability
    # consent in Meu INSS, or until its 5-day deadline passes (scenario "expired"), compressed.
    portability_consent_seconds: float = 0.5
    # A SQLite file the sandbox keeps its state in, written ahead of every answer and webhook
    # (sandbox.journal), so a restarted sandbox — even after SIGKILL — continues its loans and forgets
    # nothing it revealed. Unset: in memory only, as the tests and benchmarks want.
    state_path: Path | None = None
    # The resend API's page size (GET /notification/events): the published example's 25.
    notification_rows_per_page: int = 25
    # Tests: compare every entry at every commit, and count the changes made without a touch
    # (healthz ``state_untracked``). Costly with many loans.
    state_verify: bool = False

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        signing = (
            {"SANDBOX_WEBHOOK_SECRET": self.webhook_secret}
            if self.webhook_signature_scheme == "hmac"
            else {"SANDBOX_WEBHOOK_SIGNING_KEY": self.webhook_signing_key}
        )
        refuse_missing_secrets({"SANDBOX_API_CLIENT_KEY": self.api_client_key, **signing})
        return self
