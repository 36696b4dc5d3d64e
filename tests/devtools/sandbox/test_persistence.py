"""With ``SANDBOX_STATE_PATH`` the sandbox keeps its state in SQLite: killed with SIGKILL and started
again on the same port and file, it continues its loans — a debt waiting for its signature can be
signed, an averbação in teimosinha goes on by itself. Without it, a restart forgets (the control)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities.qitech import webhook_v2
from activities.qitech.client import ProviderClient
from tests.conftest import (
    API_CLIENT_KEY,
    LENDER_SIGNING_KEY,
    PROVIDER_SIGNING_KEY,
    lender_credentials,
    sandbox_env,
)
from tests.support.builders import attached, issuance_request, signature
from tests.support.data import jpeg, make_cpf
from tests.support.receiver import WebhookReceiver
from tests.support.servers import RestartableProcess, ThreadedServer, free_port

pytestmark = pytest.mark.integration

TEIMOSINHA_SECONDS = 1.5  # long enough for a kill to land between two attempts


class RestartableSandbox(RestartableProcess):
    """A sandbox process that can be killed and started again on the same port (and state file)."""

    def __init__(self, tmp_path: Path, receiver: WebhookReceiver, receiver_port: int, state: Path | None) -> None:
        self.receiver = receiver
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = sandbox_env(
            port,
            receiver_port,
            SANDBOX_TEIMOSINHA_INTERVAL_SECONDS=str(TEIMOSINHA_SECONDS),
            **({"SANDBOX_STATE_PATH": str(state)} if state else {}),
        )
        super().__init__("devtools.sandbox", env, f"{self.url}/_sandbox/healthz", tmp_path)

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=5.0)

    def health(self) -> dict[str, Any]:
        with self.admin() as admin:
            return dict(admin.get("/_sandbox/healthz").json())

    def wait_until_saved(self, timeout: float = 10.0) -> None:
        """Every webhook settled and no change since the last snapshot written."""
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if health["pending_webhooks"] == 0 and health["state_saved"]:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sandbox did not save its state within {timeout} s: {health}")
            time.sleep(0.05)

    def client(self) -> ProviderClient:
        return ProviderClient(self.url, lender_credentials(), timeout=httpx.Timeout(5.0))


@contextlib.contextmanager
def _sandbox(tmp_path: Path, *, persist: bool) -> Iterator[RestartableSandbox]:
    receiver = WebhookReceiver(
        provider_public_key=webhook_v2.public_key_of(PROVIDER_SIGNING_KEY),
        lender_private_key=LENDER_SIGNING_KEY,
        api_client_key=API_CLIENT_KEY,
    )
    receiver_port = free_port()
    state = tmp_path / "data" / "sandbox.db" if persist else None
    sandbox = RestartableSandbox(tmp_path, receiver, receiver_port, state)
    with ThreadedServer(receiver.app(), receiver_port), sandbox:
        yield sandbox


async def _issued_with_documents(provider: ProviderClient, cpf: str) -> str:
    """Issue a debt and attach its three documents: it waits for the signature. Returns its key."""
    answer = await provider.issue_debt(issuance_request(cpf, str(uuid.uuid4())))
    keys = []
    for content in (jpeg(), jpeg(color=(1, 2, 3)), jpeg(320, 400)):
        uploaded = await provider.upload_document(
            content, filename="doc.jpg", content_type="image/jpeg", idempotency_key=str(uuid.uuid4())
        )
        keys.append(uploaded.document_key)
    assert answer.data.borrower and answer.data.borrower.related_party_key
    await provider.attach_documents(answer.key, answer.data.borrower.related_party_key, attached(*keys))
    return answer.key


def _collateral_outcomes(receiver: WebhookReceiver, key: str) -> list[bool]:
    """The averbação attempts the receiver saw, once each (a webhook sent again after a restart
    carries the same event_key)."""
    seen: dict[str, bool] = {}
    for received in receiver.for_key(key):
        if received.inner.get("webhook_type") == "credit_operation.collateral":
            seen.setdefault(received.inner["event_key"], received.inner["data"]["collateral_constituted"])
    return list(seen.values())


async def test_a_debt_waiting_for_its_signature_survives_a_kill(tmp_path: Path) -> None:
    with _sandbox(tmp_path, persist=True) as sandbox:
        async with sandbox.client() as provider:
            key = await _issued_with_documents(provider, make_cpf(1))
            sandbox.receiver.wait_for(key, lambda w: w.get("status") == "waiting_signature", timeout=10)
            sandbox.wait_until_saved()
            sandbox.kill_and_restart()

            signed = await provider.sign(key, signature())
            assert signed.status == "signature_received"
            sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
        assert _collateral_outcomes(sandbox.receiver, key) == [True]


async def test_an_averbacao_in_teimosinha_continues_after_a_kill(tmp_path: Path) -> None:
    cpf = make_cpf(1)
    with _sandbox(tmp_path, persist=True) as sandbox:
        retried = ["consignable_margin_excceded"] * 3 + ["success"]
        with sandbox.admin() as admin:
            admin.put(f"/_sandbox/scenarios/{cpf}", json={"averbacao": retried}).raise_for_status()
        async with sandbox.client() as provider:
            key = await _issued_with_documents(provider, cpf)
            assert (await provider.sign(key, signature())).status == "signature_received"
        sandbox.receiver.wait_for(key, lambda w: w.get("webhook_type") == "credit_operation.collateral", count=2)
        sandbox.wait_until_saved()  # well before the third attempt, TEIMOSINHA_SECONDS after the second
        sandbox.kill_and_restart()

        # No call after the restart: the pending attempt is the sandbox's own timer.
        sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
        assert _collateral_outcomes(sandbox.receiver, key) == [False, False, False, True]
        with sandbox.admin() as admin:
            debt = admin.get(f"/_sandbox/debts/{key}").json()
        assert debt["status"] == "disbursed" and debt["averbacao_attempts"] == 4


async def test_without_a_state_path_a_restart_forgets(tmp_path: Path) -> None:
    with _sandbox(tmp_path, persist=False) as sandbox:
        async with sandbox.client() as provider:
            key = await _issued_with_documents(provider, make_cpf(1))
        with sandbox.admin() as admin:
            assert admin.get(f"/_sandbox/debts/{key}").status_code == 200
        assert "state_saved" not in sandbox.health()
        sandbox.kill_and_restart()
        with sandbox.admin() as admin:
            assert admin.get(f"/_sandbox/debts/{key}").status_code == 404
        assert not (tmp_path / "data").exists()
