"""Which environment a process runs in, and the secrets it refuses to start with in production.

Production is the default: a process starts in development mode only when ``CONSIGNADO_ENV=development``
(the run command, the local stack and the tests set it). In production every settings class that
holds a secret refuses, when it is built, a secret that is missing, empty or one of the publicly
known development values below, naming the variable, so a forgotten variable stops the process
instead of running it on a value anyone can read in this repository.

This module lives in the codec package because that package imports nothing of ours while runtime
imports it (runtime.temporal builds the codec): every package can consult it without an import
cycle. ``runtime.settings`` re-exports it; import it from there outside the codec package.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_VARIABLE = "CONSIGNADO_ENV"

DEVELOPMENT_VALUES: frozenset[str] = frozenset(
    {
        "dev-password-b-change-me",  # PROVIDER_B_PASSWORD / SANDBOX_B_PASSWORD defaults
        "test-client-secret",  # tests/conftest.py: the sandbox's client secret in the tests
        "test-password-b",  # tests/devtools/sandbox_b/conftest.py: the second sandbox's password in the tests
        "dGVzdC1vbmx5LWtleS1ub3QtYS1zZWNyZXQtLS0tLS0=",  # tests/conftest.py TEST_CODEC_KEYS: committed on purpose
        "7d0c3b0e-2f4a-4f55-9d1c-3a7e0b5c2a10",  # tests/conftest.py API_CLIENT_KEY
        "REPLACE_ME",  # deploy/k8s/base/secrets.example.yaml, applied as is
    }
)
"""Every secret value published in this repository. A production process never accepts one."""

DEVELOPMENT_MARKERS = ("change-me", "changeme", "replace_me", "replace-me")
"""Placeholders people leave in a value (compared lower-case): ``...-change-me``, ``REPLACE_ME``."""


class Environment(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"


class EnvironmentSettings(BaseSettings):
    """``CONSIGNADO_ENV``: ``production`` (the default) or ``development`` (a developer's machine)."""

    model_config = SettingsConfigDict(env_prefix="CONSIGNADO_")

    env: Environment = Environment.PRODUCTION


def current_environment() -> Environment:
    # Read at each call, not cached: tests and the local stack set the variable per process.
    try:
        return EnvironmentSettings().env
    except ValidationError:
        # A typo ("dev", "prod") must neither pass for development nor go unnoticed.
        production, development = Environment.PRODUCTION.value, Environment.DEVELOPMENT.value
        raise InsecureConfiguration(f"{ENV_VARIABLE} must be {production!r} (the default) or {development!r}") from None


def is_development() -> bool:
    return current_environment() is Environment.DEVELOPMENT


class InsecureConfiguration(ValueError):
    """A production process was given a missing or publicly known secret.

    A ValueError, so pydantic reports it from a settings class's validator as a ValidationError
    (itself a ValueError) whose message is this one; the classes set ``hide_input_in_errors`` so
    the message never carries the other settings' values.
    """


def _plain(value: str | SecretStr | None) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or ""


def is_development_value(value: str | SecretStr | None) -> bool:
    """True when the value, or any part of a key list (``id:key,id:key``), is a published one."""
    text = _plain(value).strip()
    parts = {text}
    for item in text.split(","):
        key_id, _, key = item.strip().partition(":")
        parts |= {item.strip(), key_id.strip(), key.strip()}
    parts.discard("")
    if parts & DEVELOPMENT_VALUES:
        return True
    lowered = text.lower()
    return any(marker in lowered for marker in DEVELOPMENT_MARKERS)


def secret_problems(secrets: Mapping[str, str | SecretStr | None], *, optional: Collection[str] = ()) -> list[str]:
    """What is wrong with each secret, by variable name (never its value)."""
    problems = []
    for variable, value in secrets.items():
        if not _plain(value).strip():
            if variable not in optional:
                problems.append(f"{variable} is not set")
        elif is_development_value(value):
            problems.append(f"{variable} holds a development value published in this repository")
    return problems


def refuse_in_production(problems: Collection[str]) -> None:
    """Raise InsecureConfiguration listing ``problems`` unless this process runs in development."""
    # The environment is read even when nothing is wrong, so a misspelt switch is always reported.
    if not is_development() and problems:
        raise InsecureConfiguration(
            "refusing to start in production: "
            + "; ".join(problems)
            + f". Give this deployment its own values, or set {ENV_VARIABLE}=development on a developer's machine."
        )


def require_production_secrets(
    secrets: Mapping[str, str | SecretStr | None], *, optional: Collection[str] = ()
) -> None:
    """In production, every secret in ``secrets`` (variable name -> value) must be set (unless
    named in ``optional``) and must not be a development value; in development, anything goes."""
    refuse_in_production(secret_problems(secrets, optional=optional))
