"""The second provider's sandbox as its own process (``python -m devtools.sandbox_b``), and our client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from activities.provider_b.client import Credentials, ProviderBClient
from tests.support.servers import free_port, python_module, running_process

USERNAME = "lender-b-test"
PASSWORD = "test-password-b"
STEP_SECONDS = 0.3


@dataclass
class SandboxBUnderTest:
    url: str
    log: Path

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)

    def credentials(self, password: str = PASSWORD) -> Credentials:
        return Credentials(USERNAME, SecretStr(password))

    def client(self, *, seconds: float = 5.0, headers: dict[str, str] | None = None) -> ProviderBClient:
        return ProviderBClient(self.url, self.credentials(), timeout=httpx.Timeout(seconds), headers=headers)


@pytest.fixture(scope="session")
def sandbox_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxBUnderTest]:
    port = free_port()
    log = tmp_path_factory.mktemp("sandbox_b") / "sandbox_b.log"
    env = {
        "SANDBOX_B_PORT": str(port),
        "SANDBOX_B_USERNAME": USERNAME,
        "SANDBOX_B_PASSWORD": PASSWORD,
        "SANDBOX_B_STEP_SECONDS": str(STEP_SECONDS),
    }
    url = f"http://127.0.0.1:{port}"
    with running_process(python_module("devtools.sandbox_b"), env=env, ready_url=f"{url}/_sandbox/healthz", log=log):
        yield SandboxBUnderTest(url=url, log=log)


@pytest.fixture
async def provider_b(sandbox_b: SandboxBUnderTest) -> AsyncIterator[ProviderBClient]:
    async with sandbox_b.client() as client:
        yield client
