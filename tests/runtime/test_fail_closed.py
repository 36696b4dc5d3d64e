"""Fail closed: in production (the default) every process refuses to start on a missing secret or on
one of the development values published in this repository, naming the variable; in development
(``CONSIGNADO_ENV=development``, set by the local stack) the same defaults start.

The settings classes are checked in-process; the entry points themselves (worker.py, python -m
relay / gateway / codec / sandbox / sandbox_b / store.migrate) run as subprocesses with a minimal
environment, in a scratch folder so no default reaches the shared data/ folder. The worker's and
the relay's checks that come after their Temporal connection (the store, the second provider) are
shown against a dev server in tests/runtime/test_clear_payloads.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from activities.qitech import webhook_v2
from devtools.sandbox.settings import SandboxSettings
from devtools.sandbox_b.settings import SandboxBSettings
from ops.webhook_keys import one_line
from runtime.codec.aes import new_key
from runtime.codec.settings import CodecSettings
from runtime.settings import (
    DEVELOPMENT_VALUES,
    ENV_VARIABLE,
    PROVIDER_EXAMPLE_CNPJ,
    InsecureConfiguration,
    LenderSettings,
    PiiSettings,
    ProviderBSettings,
    ProviderSettings,
    is_development_value,
)
from runtime.store.db import DatabaseSettings
from tests.conftest import API_CLIENT_KEY, TEST_CODEC_KEYS
from tests.support.servers import ROOT, free_port, wait_until_ready
from webhooks.gateway.settings import GatewaySettings, SignatureScheme
from webhooks.inbox.sealing import new_keypair
from webhooks.relay.settings import RelaySettings

REAL_CODEC_KEYS = f"k1:{new_key()}"
INBOX_PRIVATE, INBOX_PUBLIC = new_keypair("inbox-test")
SIGNING_KEY = webhook_v2.new_private_key()
REAL_PROVIDER: dict[str, Any] = {
    "base_url": "https://provider.example",
    "api_client_key": "issued-by-the-provider",
    "signing_key": SecretStr(SIGNING_KEY),
    "public_key": webhook_v2.public_key_of(SIGNING_KEY),
}
PROVIDER_ENV = {
    "PROVIDER_BASE_URL": "https://provider.example",
    "PROVIDER_API_CLIENT_KEY": "issued-by-the-provider",
    "PROVIDER_SIGNING_KEY": one_line(SIGNING_KEY),
    "PROVIDER_PUBLIC_KEY": one_line(webhook_v2.public_key_of(SIGNING_KEY)),
}
OWN_CNPJ = "11222333000181"  # a valid CNPJ that is not the provider's example
WORKER_ENV = {**PROVIDER_ENV, "LENDER_PURCHASER_CNPJ": OWN_CNPJ}
REFUSED = "refusing to start in production"
B_PASSWORD = "dev-password-b-change-me"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    for name in list(os.environ):
        if name.startswith(("PROVIDER_", "CODEC_", "RELAY_", "GATEWAY_", "SANDBOX_", "DATABASE_", "PII_", "LENDER_")):
            monkeypatch.delenv(name)


@pytest.fixture
def development(production: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VARIABLE, "development")


def _refusal(build: Callable[[], object]) -> str:
    with pytest.raises(ValidationError) as refused:
        build()
    assert isinstance(refused.value, ValueError)  # what create_app's callers already catch
    message = str(refused.value)
    assert REFUSED in message and ENV_VARIABLE in message
    return message


# ---------------------------------------------------------------- the settings classes


def test_the_published_values_are_the_repositorys_own() -> None:
    # The list names the test fixtures' committed secrets: were they changed, it would go stale.
    assert API_CLIENT_KEY in DEVELOPMENT_VALUES
    assert is_development_value(TEST_CODEC_KEYS)  # a key list: each key is compared
    assert is_development_value(f"{REAL_CODEC_KEYS},{TEST_CODEC_KEYS}")  # also as an older key
    assert is_development_value("my-secret-CHANGE-ME") and is_development_value("REPLACE_ME")
    assert not is_development_value(REAL_CODEC_KEYS) and not is_development_value(SIGNING_KEY)
    assert not is_development_value(SecretStr("a-real-client-secret"))


@pytest.mark.usefixtures("production")
def test_production_refuses_each_missing_or_development_secret_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: ProviderSettings(base_url="https://p.example"), "PROVIDER_SIGNING_KEY is not set"),  # none signed
        (lambda: ProviderSettings(base_url="https://p.example"), "PROVIDER_API_CLIENT_KEY is not set"),
        (
            lambda: ProviderSettings(**{**REAL_PROVIDER, "api_client_key": API_CLIENT_KEY}),
            "PROVIDER_API_CLIENT_KEY holds",
        ),
        (lambda: ProviderSettings(**{**REAL_PROVIDER, "public_key": ""}), "PROVIDER_PUBLIC_KEY is not set"),
        (lambda: ProviderBSettings(base_url="https://b.example"), "PROVIDER_B_PASSWORD is not set"),
        (
            lambda: ProviderBSettings(
                base_url="https://b", username="u", password=SecretStr("dev-password-b-change-me")
            ),
            "PROVIDER_B_PASSWORD holds a development value",
        ),
        (CodecSettings, "CODEC_KEYS is not set"),
        (lambda: CodecSettings(keys=SecretStr(TEST_CODEC_KEYS)), "CODEC_KEYS holds a development value"),
        (lambda: CodecSettings(allow_plaintext=True), "CODEC_ALLOW_PLAINTEXT"),
        (
            lambda: CodecSettings(keys=SecretStr(REAL_CODEC_KEYS), server_token=SecretStr("REPLACE_ME")),
            "CODEC_SERVER_TOKEN holds a development value",
        ),
        (RelaySettings, "RELAY_INBOX_PRIVATE_KEYS is not set"),
        (DatabaseSettings, "DATABASE_URL is not set"),
        (lambda: PiiSettings(hash_key=SecretStr("pii-key-change-me")), "PII_HASH_KEY holds a development value"),
        (SandboxSettings, "SANDBOX_API_CLIENT_KEY is not set"),
        # The assignee: set, and not the CNPJ the provider's pages print in every example.
        (LenderSettings, "LENDER_PURCHASER_CNPJ is not set"),
        (lambda: LenderSettings(purchaser_cnpj="32402502000135"), "LENDER_PURCHASER_CNPJ is the provider's example"),
        (
            lambda: LenderSettings(purchaser_cnpj="32.402.502/0001-35"),
            "LENDER_PURCHASER_CNPJ is the provider's example",
        ),
        (SandboxBSettings, "SANDBOX_B_PASSWORD holds a development value"),
    ]
    for build, expected in cases:
        assert expected in _refusal(build), expected


@pytest.mark.usefixtures("production")
def test_the_gateway_refuses_what_its_scheme_needs_and_published_values() -> None:
    message = _refusal(GatewaySettings)
    for variable in (
        "GATEWAY_PROVIDER_PUBLIC_KEYS",
        "GATEWAY_SIGNING_KEY",
        "GATEWAY_API_CLIENT_KEY",
        "GATEWAY_INBOX_PUBLIC_KEY",
    ):
        assert f"{variable} is not set" in message
    assert "GATEWAY_WEBHOOK_SECRETS" not in message  # not the hmac scheme's
    complete: dict[str, Any] = {
        "provider_public_keys": webhook_v2.public_key_of(SIGNING_KEY),
        "signing_key": SecretStr(SIGNING_KEY),
        "api_client_key": "issued-by-the-provider",
        "inbox_public_key": INBOX_PUBLIC,
    }
    GatewaySettings(**complete)  # the control: nothing missing, nothing published
    published = _refusal(lambda: GatewaySettings(**{**complete, "api_client_key": API_CLIENT_KEY}))
    assert "GATEWAY_API_CLIENT_KEY holds a development value" in published
    # The refusal never prints the other settings' values (pydantic would quote its input).
    assert "PRIVATE KEY" not in published and INBOX_PUBLIC not in published
    hmac = _refusal(lambda: GatewaySettings(signature_scheme=SignatureScheme.HMAC, inbox_public_key=INBOX_PUBLIC))
    assert "GATEWAY_WEBHOOK_SECRETS is not set" in hmac and "GATEWAY_SIGNING_KEY" not in hmac


@pytest.mark.usefixtures("production")
def test_production_accepts_its_own_values() -> None:
    ProviderSettings(**REAL_PROVIDER)
    ProviderSettings()  # no first provider (a second-provider-only lender): none of its secrets needed
    ProviderBSettings()  # no second provider: no credentials needed
    codec = CodecSettings(keys=SecretStr(REAL_CODEC_KEYS))
    assert codec.encryption_required() and not codec.path_token_allowed()
    RelaySettings(inbox_private_keys=SecretStr(INBOX_PRIVATE))
    DatabaseSettings(url="postgresql+asyncpg://consignado@db/consignado", password=SecretStr("a-real-password"))
    DatabaseSettings(url="sqlite+aiosqlite:///shared/consignado.db")  # SQLite on purpose: a warning
    PiiSettings()  # optional: without it loans are not searchable by CPF
    assert LenderSettings(purchaser_cnpj="11.222.333/0001-81").purchaser_cnpj == OWN_CNPJ
    with pytest.raises(ValidationError, match="LENDER_PURCHASER_CNPJ: CNPJ check digits"):
        LenderSettings(purchaser_cnpj="11222333000182")


@pytest.mark.usefixtures("development")
def test_development_accepts_the_defaults() -> None:
    assert ProviderSettings().signing_key.get_secret_value() == ""  # the run command gives it one
    assert SandboxSettings().api_client_key == ""
    assert SandboxBSettings().password.get_secret_value() == "dev-password-b-change-me"
    assert DatabaseSettings().url.startswith("sqlite")
    codec = CodecSettings(keys=SecretStr(TEST_CODEC_KEYS), allow_plaintext=True)
    assert not codec.encryption_required() and codec.path_token_allowed()
    RelaySettings()
    assert LenderSettings().purchaser_cnpj == PROVIDER_EXAMPLE_CNPJ  # what the sandbox's examples carry


def test_the_switch_takes_only_its_two_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VARIABLE, "dev")  # a typo must not quietly mean production or development
    with pytest.raises(ValueError, match=f"{ENV_VARIABLE} must be 'production' .* or 'development'"):
        ProviderSettings(**REAL_PROVIDER)


def test_insecure_configuration_is_a_value_error() -> None:
    assert issubclass(InsecureConfiguration, ValueError)


# ---------------------------------------------------------------- the entry points, as processes


def _minimal_env(**extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "OTEL_TRACES_EXPORTER": "none",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # nothing listens: nothing gets that far
        **extra,
    }


ENTRY_POINTS = {
    "worker": [sys.executable, str(ROOT / "worker.py")],
    "relay": [sys.executable, "-m", "webhooks.relay"],
    "gateway": [sys.executable, "-m", "webhooks.gateway"],
    "codec": [sys.executable, "-m", "runtime.codec"],
    "sandbox": [sys.executable, "-m", "devtools.sandbox"],
    "sandbox_b": [sys.executable, "-m", "devtools.sandbox_b"],
    "runtime.store.migrate": [sys.executable, "-m", "runtime.store.migrate"],
}


def _gateway_keys() -> dict[str, str]:
    return {
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_PROVIDER_PUBLIC_KEYS": one_line(webhook_v2.public_key_of(SIGNING_KEY)),
        "GATEWAY_SIGNING_KEY": one_line(SIGNING_KEY),
        "GATEWAY_API_CLIENT_KEY": "issued-by-the-provider",
        "GATEWAY_INBOX_PUBLIC_KEY": INBOX_PUBLIC,
    }


REFUSALS: dict[str, tuple[str, dict[str, str], str]] = {
    # case: (entry point, its environment, what the refusal must say)
    "worker-no-signing-key": ("worker", {"PROVIDER_BASE_URL": "https://p.example"}, "PROVIDER_SIGNING_KEY is not set"),
    # A second-provider-only lender: its worker asks for the second provider's secrets, not the first's.
    "worker-second-provider-only": (
        "worker",
        {
            "PROVIDER_B_BASE_URL": "https://b.example",
            "PROVIDER_B_USERNAME": "lender",
            "LENDER_PURCHASER_CNPJ": OWN_CNPJ,
        },
        "PROVIDER_B_PASSWORD is not set",
    ),
    "worker-test-api-client-key": (
        "worker",
        {**PROVIDER_ENV, "PROVIDER_API_CLIENT_KEY": API_CLIENT_KEY},
        "PROVIDER_API_CLIENT_KEY holds a development value",
    ),
    "worker-no-purchaser-cnpj": ("worker", PROVIDER_ENV, "LENDER_PURCHASER_CNPJ is not set"),
    "worker-example-purchaser-cnpj": (
        "worker",
        {**PROVIDER_ENV, "LENDER_PURCHASER_CNPJ": PROVIDER_EXAMPLE_CNPJ},
        "LENDER_PURCHASER_CNPJ is the provider's example CNPJ",
    ),
    "worker-no-codec-keys": ("worker", WORKER_ENV, "CODEC_KEYS is not set"),
    "worker-test-codec-keys": (
        "worker",
        {**WORKER_ENV, "CODEC_KEYS": TEST_CODEC_KEYS},
        "CODEC_KEYS holds a development value",
    ),
    "worker-plaintext": ("worker", {**WORKER_ENV, "CODEC_ALLOW_PLAINTEXT": "true"}, "CODEC_ALLOW_PLAINTEXT"),
    "relay-no-inbox-keys": ("relay", {}, "RELAY_INBOX_PRIVATE_KEYS is not set"),
    "relay-placeholder-inbox-keys": (
        "relay",
        {"RELAY_INBOX_PRIVATE_KEYS": "inbox:REPLACE_ME"},
        "RELAY_INBOX_PRIVATE_KEYS holds a development value",
    ),
    "relay-no-database": ("relay", {"RELAY_INBOX_PRIVATE_KEYS": INBOX_PRIVATE}, "DATABASE_URL is not set"),
    "relay-no-codec-keys": (
        "relay",
        {"RELAY_INBOX_PRIVATE_KEYS": INBOX_PRIVATE, "DATABASE_URL": "sqlite+aiosqlite:///inbox.db"},
        "CODEC_KEYS is not set",
    ),
    "gateway-no-keys": ("gateway", {}, "GATEWAY_SIGNING_KEY is not set"),
    "gateway-test-api-client-key": (
        "gateway",
        {**_gateway_keys(), "GATEWAY_API_CLIENT_KEY": API_CLIENT_KEY},
        "GATEWAY_API_CLIENT_KEY holds a development value",
    ),
    "gateway-no-database": ("gateway", _gateway_keys(), "DATABASE_URL is not set"),
    "codec-no-keys": ("codec", {}, "CODEC_KEYS is not set"),
    "codec-no-token": ("codec", {"CODEC_KEYS": REAL_CODEC_KEYS}, "CODEC_SERVER_TOKEN is not set"),
    "codec-placeholder-token": (
        "codec",
        {"CODEC_KEYS": REAL_CODEC_KEYS, "CODEC_SERVER_TOKEN": "REPLACE_ME"},
        "CODEC_SERVER_TOKEN holds a development value",
    ),
    "sandbox-no-api-client-key": ("sandbox", {}, "SANDBOX_API_CLIENT_KEY is not set"),
    "sandbox_b-default-password": ("sandbox_b", {}, "SANDBOX_B_PASSWORD holds a development value"),
    "store-migrate-no-database": ("runtime.store.migrate", {}, "DATABASE_URL is not set"),
}


def _run(entry: str, env: dict[str, str], cwd: Path, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ENTRY_POINTS[entry], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_production_process_refuses_to_start_naming_the_variable(case: str, tmp_path: Path) -> None:
    entry, env, expected = REFUSALS[case]
    finished = _run(entry, _minimal_env(**env), tmp_path)
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0, output[-2000:]
    assert REFUSED in output and expected in output, output[-3000:]
    if case == "worker-second-provider-only":
        assert "PROVIDER_SIGNING_KEY" not in output and "PROVIDER_API_CLIENT_KEY" not in output
    # Refused before it wrote anything: the embedded store was never created in its folder.
    assert not (tmp_path / "data").exists()
    for secret in (SIGNING_KEY.splitlines()[1], REAL_CODEC_KEYS.split(":")[1], INBOX_PRIVATE.split(":")[1]):
        assert secret not in output


@contextlib.contextmanager
def _serving(entry: str, env: dict[str, str], cwd: Path, url: str, timeout: float = 90.0) -> Iterator[str]:
    log = cwd / f"{entry}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ENTRY_POINTS[entry], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(url, process, timeout, log)
        yield log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_in_development_the_same_defaults_start(tmp_path: Path) -> None:
    development = {ENV_VARIABLE: "development"}
    codec, gateway, sandbox, sandbox_b = (free_port() for _ in range(4))
    servers = {
        # The codec server: a key and a token of its own still (it would serve no one without).
        "codec": (
            {
                "CODEC_KEYS": TEST_CODEC_KEYS,
                "CODEC_SERVER_TOKEN": "a-long-enough-dev-token",
                "CODEC_SERVER_PORT": str(codec),
            },
            f"http://127.0.0.1:{codec}/healthz",
        ),
        # The gateway on the embedded store's default and the test API client key.
        "gateway": (
            {**_gateway_keys(), "GATEWAY_PORT": str(gateway), "GATEWAY_API_CLIENT_KEY": API_CLIENT_KEY},
            f"http://127.0.0.1:{gateway}/healthz",
        ),
        # The sandboxes on their published development credentials.
        "sandbox": (
            {
                "SANDBOX_PORT": str(sandbox),
                "SANDBOX_WEBHOOK_SIGNING_KEY": one_line(SIGNING_KEY),
                "SANDBOX_API_CLIENT_KEY": API_CLIENT_KEY,
            },
            f"http://127.0.0.1:{sandbox}/_sandbox/healthz",
        ),
        "sandbox_b": ({"SANDBOX_B_PORT": str(sandbox_b)}, f"http://127.0.0.1:{sandbox_b}/_sandbox/healthz"),
    }
    for entry, (env, url) in servers.items():
        with _serving(entry, _minimal_env(**development, **env), tmp_path, url):
            assert httpx.get(url, timeout=5).status_code == 200, entry
    migrated = _run("runtime.store.migrate", _minimal_env(**development), tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    assert (tmp_path / "data" / "consignado.db").exists()  # the embedded default, in its own folder
