"""Second sandbox configuration, from the environment (prefix ``SANDBOX_B_``).

The sandbox keeps its own copies of everything it shares with the lender's code by accident of
reading the same seeds: the figures its pricing was fitted with, and the refusal of its development
password outside a developer's machine (the same ``CONSIGNADO_ENV`` switch every process of the
stack reads, checked here without the lender's settings module).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from devtools.sandbox_b.pricing import DateRules, Deductions

ENVIRONMENT_VARIABLE = "CONSIGNADO_ENV"  # "development" on a developer's machine; anything else is production
DEVELOPMENT_PASSWORDS = frozenset({"dev-password-b-change-me", "test-password-b"})  # this default, the tests'


def _in_development() -> bool:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "production").strip().lower()
    if value not in ("production", "development"):
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be 'production' (the default) or 'development'")
    return value == "development"


class SandboxBSettings(BaseSettings):
    """The second provider's double; outside a developer's machine it refuses its development password."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_B_", hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 8093
    username: str = "lender-b-dev"
    password: SecretStr = SecretStr("dev-password-b-change-me")  # refused outside development
    token_ttl_seconds: int = 3600
    # How long an operation stays in each status before the next (formalização → análise → ...).
    step_seconds: float = 2.0
    # Where link_form points (the sandbox's own formalization page by default).
    public_url: str | None = None
    # A JSON product table (a list of the rows tabela_produto answers) instead of the built-in one.
    product_file: Path | None = None
    # A SQLite file keeping the state (operations, tokens, scenarios) across restarts, even SIGKILL:
    # the run command's data folder. Unset (the tests' default): in memory only.
    state_path: Path | None = None
    # Tests: compare every entry at every commit, and count the changes made without a touch.
    state_verify: bool = False

    # ---- pricing figures no seed prints, fitted to the ones they do (devtools.sandbox_b.pricing)
    # Taken out of the issue amount besides the IOF, in percent of it. Seed 003 issues 12,444.67 and
    # releases 12,007.60; its IOF (84 × 300.00 from 2025-12-03 at the 1.8779 % a month the issue amount
    # implies) is 414.67, leaving 22.40 unexplained = 0.18 % of 12,444.67 (22.4004). One example: a fixed
    # 22.40 fits it as well. (The lender's engine holds the same reading, fitted to the same figures.)
    deduction_percent: Annotated[Decimal, Field(ge=0, lt=100)] = Decimal("0.18")
    # A requested first due date moves forward a month at a time until it is paid at least this many
    # days after the disbursement: seed 004 keeps 2024-12-09 for 2024-11-05 (34 days) and moves it to
    # 2025-01-07 for 2024-11-06 (33 days); seed 003 keeps 2026-01-26 for 2025-12-03 (54 days).
    min_days_to_first_due: Annotated[int, Field(ge=0, le=120)] = 34
    # ... and, for a disbursement after this day of its month, no earlier than the second month after it
    # (seed 004's issuance: disbursed 2024-11-07 to 11-14, first due 2025-01-20, never 2024-12-20).
    disbursement_cutoff_day: Annotated[int, Field(ge=0, le=31)] = 5

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if _in_development():
            return self
        password = self.password.get_secret_value().strip()
        if not password:
            problem = "SANDBOX_B_PASSWORD is not set"
        elif password in DEVELOPMENT_PASSWORDS or "change-me" in password.lower():
            problem = "SANDBOX_B_PASSWORD holds a development value published in this repository"
        else:
            return self
        raise ValueError(
            f"refusing to start in production: {problem}. Give this deployment its own values, "
            f"or set {ENVIRONMENT_VARIABLE}=development on a developer's machine."
        )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def deductions(self) -> Deductions:
        return Deductions(percent=self.deduction_percent)

    def date_rules(self) -> DateRules:
        return DateRules(min_days=self.min_days_to_first_due, cutoff_day=self.disbursement_cutoff_day)
