"""With ``SANDBOX_STATE_PATH`` the sandbox keeps its state in SQLite, written ahead of every answer and
webhook: killed with SIGKILL and started again on the same port and file, it continues its loans — a
debt waiting for its signature can be signed, an averbação in teimosinha goes on by itself — and,
killed right after each kind of answer (debt created, documents attached, consultation requested,
webhook sent), it has forgotten nothing it revealed and mints no event twice: a webhook it sends again
carries the same event key. Every persisted sandbox here also checks that no change escaped the journal
(``SANDBOX_STATE_VERIFY``). Without a state path, a restart forgets (the control)."""

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
from tests.support.builders import attached, benefits_request, issuance_request, signature
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
            **({"SANDBOX_STATE_PATH": str(state), "SANDBOX_STATE_VERIFY": "1"} if state else {}),
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

    def debt(self, key: str) -> httpx.Response:
        with self.admin() as admin:
            return admin.get(f"/_sandbox/debts/{key}")

    def deliveries(self, key: str) -> list[dict[str, Any]]:
        with self.admin() as admin:
            return list(admin.get("/_sandbox/webhooks", params={"key": key}).json())

    def assert_nothing_escaped_the_journal(self) -> None:
        assert self.health()["state_untracked"] == 0


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


async def test_killed_while_a_timers_webhook_is_in_flight_the_teimosinha_goes_on(tmp_path: Path) -> None:
    """``webhook_before_response`` is about HTTP answers: the webhook of an averbação attempt (a timer's
    work) is written ahead together with the next attempt, so a sandbox killed while the receiver has not
    yet answered it still tries again when it comes back. (Once the attempt's webhook was sent inline, its
    write-ahead commit recorded the timer as run before the next one was scheduled: the restarted sandbox
    sent that webhook again and never attempted the averbação again — the loan stuck for ever.)"""
    cpf = make_cpf(1)
    with _sandbox(tmp_path, persist=True) as sandbox:
        retried = ["consignable_margin_excceded"] * 2 + ["success"]
        scenario = {"averbacao": retried, "faults": {"webhook_before_response": True}}
        with sandbox.admin() as admin:
            admin.put(f"/_sandbox/scenarios/{cpf}", json=scenario).raise_for_status()
        # The receiver hangs on the first averbação attempt's webhook: the sandbox's POST stays in flight.
        sandbox.receiver.hold_containing[b'"credit_operation.collateral"'] = 1
        try:
            async with sandbox.client() as provider:
                key = await _issued_with_documents(provider, cpf)
                assert (await provider.sign(key, signature())).status == "signature_received"
            assert sandbox.receiver.held.wait(timeout=15), "the first averbação attempt's webhook never left"
            assert _collateral_outcomes(sandbox.receiver, key) == []  # the held one is not received yet
            sandbox.kill_and_restart()  # mid-POST, well before the next attempt (TEIMOSINHA_SECONDS)
        finally:
            sandbox.receiver.release()

        # No call after the restart: the next attempts are the sandbox's own timers, from its state file.
        sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
        assert _collateral_outcomes(sandbox.receiver, key) == [False, False, True]
        debt = sandbox.debt(key).json()
        assert debt["status"] == "disbursed" and debt["averbacao_attempts"] == 3
        # The held attempt's webhook was sent again by the restarted sandbox as the same event.
        deliveries = sandbox.deliveries(key)
        assert len({d["event_key"] for d in deliveries}) == len(deliveries)
        [held] = [d for d in deliveries if d["webhook_type"] == "credit_operation.collateral" and d["attempts"] > 1]
        assert held["delivered"]
        sandbox.wait_until_saved()
        sandbox.assert_nothing_escaped_the_journal()


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


# ---------------------------------------------------------------- killed right after each kind of answer


def _event_keys(receiver: WebhookReceiver, key: str) -> dict[tuple[str, str], set[str]]:
    """Per kind of event the receiver saw for ``key`` (its type, and its status or averbação outcome),
    the event keys it came under: one each, however often it was sent."""
    events: dict[tuple[str, str], set[str]] = {}
    for received in receiver.for_key(key):
        inner = received.inner
        what = inner.get("status") or str((inner.get("data") or {}).get("collateral_constituted"))
        events.setdefault((str(inner.get("webhook_type")), str(what)), set()).add(inner["event_key"])
    return events


def _assert_no_event_minted_twice(sandbox: RestartableSandbox, key: str) -> None:
    events = _event_keys(sandbox.receiver, key)
    assert events, f"no webhook for {key}"
    assert all(len(keys) == 1 for keys in events.values()), events
    # The sandbox's own record agrees: one delivery per event key (no duplicate fault here).
    deliveries = sandbox.deliveries(key)
    assert len({d["event_key"] for d in deliveries}) == len(deliveries)
    assert {d["event_key"] for d in deliveries} == set().union(*events.values())


async def test_killed_right_after_a_debt_is_created_it_still_knows_the_debt(tmp_path: Path) -> None:
    with _sandbox(tmp_path, persist=True) as sandbox:
        request = issuance_request(make_cpf(1), str(uuid.uuid4()))
        async with sandbox.client() as provider:
            answer = await provider.issue_debt(request)
            sandbox.kill_and_restart()  # the answer is in hand: the sandbox must not have forgotten it

            assert sandbox.debt(answer.key).status_code == 200
            found = await provider.credit_operation(request.requester_identifier_key)
            assert found is not None and found.credit_operation_key == answer.key
            again = await provider.issue_debt(request)  # the caller's retry: the same debt, not a second
            assert again.key == answer.key
        with sandbox.admin() as admin:
            debts = admin.get("/_sandbox/debts", params={"requester_identifier_key": request.requester_identifier_key})
        assert debts.json() == [answer.key]
        # The creation's webhook, due after the answer, is sent by the restarted sandbox: as one event.
        sandbox.receiver.wait_for(answer.key, lambda w: w.get("status") == "waiting_signature", timeout=10)
        _assert_no_event_minted_twice(sandbox, answer.key)
        sandbox.assert_nothing_escaped_the_journal()


async def test_killed_right_after_documents_are_attached_they_stay_attached(tmp_path: Path) -> None:
    with _sandbox(tmp_path, persist=True) as sandbox:
        async with sandbox.client() as provider:
            key = await _issued_with_documents(provider, make_cpf(1))
            sandbox.kill_and_restart()

            assert sandbox.debt(key).json()["documents_attached_to"] == "borrower"
            # Signing needs the documents: it goes through as it would have without the kill.
            assert (await provider.sign(key, signature())).status == "signature_received"
        sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
        _assert_no_event_minted_twice(sandbox, key)
        sandbox.assert_nothing_escaped_the_journal()


async def test_killed_right_after_a_consultation_is_requested_it_answers_it_once(tmp_path: Path) -> None:
    cpf = make_cpf(1)
    with _sandbox(tmp_path, persist=True) as sandbox:
        async with sandbox.client() as provider:
            idempotency = str(uuid.uuid4())
            created = await provider.request_benefits(benefits_request(cpf), idempotency_key=idempotency)
            sandbox.kill_and_restart()

            # The caller's retry with the same idempotency key: the same request, not a second one.
            again = await provider.request_benefits(benefits_request(cpf), idempotency_key=idempotency)
            assert again.benefits_request_key == created.benefits_request_key
        key = created.benefits_request_key
        [answered] = sandbox.receiver.wait_for(key, timeout=10)
        assert answered.inner["webhook_type"] == "social_security_benefits_request"
        _assert_no_event_minted_twice(sandbox, key)
        sandbox.assert_nothing_escaped_the_journal()


async def test_killed_right_after_a_webhook_is_sent_it_sends_no_new_event(tmp_path: Path) -> None:
    """The averbação's outcome and the disbursement are the sandbox's own timers' work: killed as soon
    as the first of their webhooks arrives, the restarted sandbox neither runs that step again (a new
    event key for the same averbação) nor forgets it ran (a debt stuck before it)."""
    with _sandbox(tmp_path, persist=True) as sandbox:
        async with sandbox.client() as provider:
            key = await _issued_with_documents(provider, make_cpf(1))
            assert (await provider.sign(key, signature())).status == "signature_received"
        sandbox.receiver.wait_for(key, lambda w: w.get("webhook_type") == "credit_operation.collateral", timeout=10)
        sandbox.kill_and_restart()

        sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
        assert _collateral_outcomes(sandbox.receiver, key) == [True]
        assert sandbox.debt(key).json()["averbacao_attempts"] == 1
        _assert_no_event_minted_twice(sandbox, key)
        sandbox.wait_until_saved()
        sandbox.assert_nothing_escaped_the_journal()


async def test_killed_again_and_again_through_a_loan_it_ends_it_as_one_story(tmp_path: Path) -> None:
    """A kill after every answer and after every webhook of one loan: the same events, once each."""
    with _sandbox(tmp_path, persist=True) as sandbox:
        async with sandbox.client() as provider:
            request = issuance_request(make_cpf(1), str(uuid.uuid4()))
            answer = await provider.issue_debt(request)
            sandbox.kill_and_restart()
            keys = []
            for content in (jpeg(), jpeg(color=(4, 5, 6)), jpeg(320, 400)):
                uploaded = await provider.upload_document(
                    content, filename="doc.jpg", content_type="image/jpeg", idempotency_key=str(uuid.uuid4())
                )
                keys.append(uploaded.document_key)
                sandbox.kill_and_restart()
            assert answer.data.borrower and answer.data.borrower.related_party_key
            await provider.attach_documents(answer.key, answer.data.borrower.related_party_key, attached(*keys))
            sandbox.kill_and_restart()
            assert (await provider.sign(answer.key, signature())).status == "signature_received"
            sandbox.kill_and_restart()
        seen = 0
        while not any(r.inner.get("status") == "disbursed" for r in sandbox.receiver.for_key(answer.key)):
            sandbox.receiver.wait_for(answer.key, count=seen + 1, timeout=20)
            seen = len(sandbox.receiver.for_key(answer.key))
            sandbox.kill_and_restart()  # right after each webhook the receiver saw
        assert _collateral_outcomes(sandbox.receiver, answer.key) == [True]
        _assert_no_event_minted_twice(sandbox, answer.key)
        sandbox.wait_until_saved()
        sandbox.assert_nothing_escaped_the_journal()
