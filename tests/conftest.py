"""Fixtures that start real servers. Each starts lazily, the first time a test asks for it."""

from __future__ import annotations

import contextlib
import os

# The tests run the development mode: production (the default) refuses the published development
# and test values these fixtures use. Tests of production's refusals set their own environment.
os.environ.setdefault("CONSIGNADO_ENV", "development")

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from activities.qitech import webhook_v2
from activities.qitech.client import Credentials, ProviderClient
from activities.qitech.news import earlier_news
from tests.support.clock import move_this_session, needs_real_clock
from tests.support.receiver import WebhookReceiver
from tests.support.servers import ThreadedServer, free_port, python_module, running_process
from workflows.loan.news import read_earlier_news_with


def pytest_configure(config: pytest.Config) -> None:
    move_this_session()  # CONSIGNADO_TEST_TODAY: the whole session on another day (tests/support/clock.py)
    # As worker.py does: loans' recorded histories hold the first provider's own webhooks.
    read_earlier_news_with(earlier_news)


# The webhook-v2 keys of the provider (the sandbox signs with it) and of the lender (signs the
# acknowledgement), made per test session.
PROVIDER_SIGNING_KEY = webhook_v2.new_private_key()
LENDER_SIGNING_KEY = webhook_v2.new_private_key()
API_CLIENT_KEY = "7d0c3b0e-2f4a-4f55-9d1c-3a7e0b5c2a10"


def lender_credentials() -> Credentials:
    """How the lender signs its requests to the sandbox: the integration's key and the lender's key."""
    return Credentials(
        API_CLIENT_KEY,
        SecretStr(LENDER_SIGNING_KEY),
        provider_public_key=webhook_v2.public_key_of(PROVIDER_SIGNING_KEY),
    )


@dataclass
class SandboxUnderTest:
    url: str
    receiver: WebhookReceiver
    log: Path

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)

    def credentials(self) -> Credentials:
        return lender_credentials()

    @contextlib.contextmanager
    def on_day(self, day: date) -> Iterator[None]:
        """The sandbox believes it is ``day`` (its dates: disbursement, IOF days) until the block ends."""
        with self.admin() as admin:
            admin.put("/_sandbox/clock", json={"today": day.isoformat()}).raise_for_status()
            try:
                yield
            finally:
                admin.put("/_sandbox/clock", json={"offset_days": 0}).raise_for_status()


def sandbox_env(sandbox_port: int, receiver_port: int, **overrides: str) -> dict[str, str]:
    """A sandbox process's environment: its port, webhooks to the in-test receiver, the test keys and
    fast timings (``overrides``: more SANDBOX_* variables)."""
    return {
        "SANDBOX_PORT": str(sandbox_port),
        "SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{receiver_port}/webhooks/sandbox",
        "SANDBOX_WEBHOOK_SIGNING_KEY": PROVIDER_SIGNING_KEY,
        "SANDBOX_LENDER_PUBLIC_KEY": webhook_v2.public_key_of(LENDER_SIGNING_KEY),
        "SANDBOX_API_CLIENT_KEY": API_CLIENT_KEY,
        "SANDBOX_WEBHOOK_RETRY_SECONDS": "0.3",
        "SANDBOX_PROCESSING_DELAY_SECONDS": "0.05",
        "SANDBOX_CANCEL_GRACE_SECONDS": "1.0",
        "SANDBOX_TEIMOSINHA_INTERVAL_SECONDS": "0.3",
        **overrides,
    }


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxUnderTest]:
    """The sandbox provider as its own process, delivering webhooks to an in-test receiver."""
    receiver = WebhookReceiver(
        provider_public_key=webhook_v2.public_key_of(PROVIDER_SIGNING_KEY),
        lender_private_key=LENDER_SIGNING_KEY,
        api_client_key=API_CLIENT_KEY,
    )
    receiver_port, sandbox_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    env = sandbox_env(sandbox_port, receiver_port)
    url = f"http://127.0.0.1:{sandbox_port}"
    with (
        ThreadedServer(receiver.app(), receiver_port),
        running_process(python_module("devtools.sandbox"), env=env, ready_url=f"{url}/_sandbox/healthz", log=log),
    ):
        yield SandboxUnderTest(url=url, receiver=receiver, log=log)


@pytest.fixture
async def provider(sandbox: SandboxUnderTest) -> AsyncIterator[ProviderClient]:
    """Our real provider client pointed at the sandbox."""
    async with ProviderClient(sandbox.url, sandbox.credentials(), timeout=httpx.Timeout(5.0)) as client:
        yield client


# ---------------------------------------------------------------- the whole system, on free ports


from devtools.devstack.stack import LocalStack, StackConfig, running  # noqa: E402
from runtime.settings import TemporalSettings  # noqa: E402
from runtime.temporal import connect  # noqa: E402

TEST_CODEC_KEYS = "test-only-2026:dGVzdC1vbmx5LWtleS1ub3QtYS1zZWNyZXQtLS0tLS0="  # 32 bytes, committed on purpose

FAST_SANDBOX = {
    "SANDBOX_PROCESSING_DELAY_SECONDS": "0.05",
    "SANDBOX_WEBHOOK_RETRY_SECONDS": "0.3",  # the published 5 minutes, compressed
    "SANDBOX_CANCEL_GRACE_SECONDS": "1.0",
    "SANDBOX_TEIMOSINHA_INTERVAL_SECONDS": "0.3",
}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Dev server, gateway, sandbox (delivering to the gateway) and a worker, as ``dev.py run`` starts them."""
    needs_real_clock("Temporal's dev server")
    # A fixed test key, so the histories recorded from this stack replay in CI (tests/histories).
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("stack"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS, ui_port=free_port()
    )
    with running(config) as started:
        yield started


@pytest.fixture(scope="session")
async def temporal_client(stack: LocalStack) -> Any:
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    return await connect(settings, codec=stack.config.codec_settings())
