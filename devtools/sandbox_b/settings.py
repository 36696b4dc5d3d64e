"""Second sandbox configuration, from the environment (prefix ``SANDBOX_B_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import require_production_secrets


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
    # A JSON product table (the assumed tabela_produto shape) instead of the built-in one.
    product_file: Path | None = None
    # A SQLite file keeping the state (operations, tokens, scenarios) across restarts, even SIGKILL:
    # the run command's data folder. Unset (the tests' default): in memory only.
    state_path: Path | None = None
    # Tests: compare every entry at every commit, and count the changes made without a touch.
    state_verify: bool = False

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        require_production_secrets({"SANDBOX_B_PASSWORD": self.password})
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
