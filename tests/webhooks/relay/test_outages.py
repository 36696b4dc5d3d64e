"""Outages on the whole system (dev server, gateway, relay, sandbox, worker as the run command
starts them), each with a real loan in flight:

* Temporal killed (-9) while the provider's webhooks arrive: the gateway still stores and
  acknowledges them (it does not need Temporal); after the restart the relay delivers them and the
  loan completes;
* the gateway down for longer than the provider's patience (its retries exhausted, the callbacks
  *failed*): the recovery job asks the resend API for them and the loan completes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client, ScheduleOverlapPolicy

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, StackConfig
from domain.loan import LoanRequest
from runtime.settings import TemporalSettings
from runtime.store.db import create_engine
from runtime.store.schema import webhook_events
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX, TEST_CODEC_KEYS
from tests.support.clock import needs_real_clock
from tests.support.temporal import eventually
from webhooks.inbox.store import Inbox
from workflows.loan.state import LoanState, Stage, Status
from workflows.recovery.contract import RECOVERY_SCHEDULE_ID

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own (these tests kill its parts), Temporal's state on disk so it survives -9."""
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("outages"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS, persist=True
    )
    stack = LocalStack(config)
    try:
        yield stack.start()
    finally:
        stack.stop()


async def _client(stack: LocalStack) -> Client:
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    return await connect(settings, codec=stack.config.codec_settings())


async def _waiting_for_signature(stack: LocalStack, tmp_path: Path) -> tuple[LoanService, LoanRequest]:
    service = LoanService(await _client(stack), stack.config.task_queue)
    request = sample_request(
        COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    )
    await service.start(request)
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=60)
    return service, request


async def _signed_loan(stack: LocalStack, tmp_path: Path) -> tuple[LoanService, str]:
    service, request = await _waiting_for_signature(stack, tmp_path)
    return service, request.request_key


async def _deliveries(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        found: list[dict[str, Any]] = (
            await http.get(f"{stack.config.sandbox_url}/_sandbox/webhooks", params={"key": key})
        ).json()
    return found


async def _recover_now(client: Client) -> None:
    """An operator's "recover now": a run of its own, beside one still settling. The Schedule's SKIP
    overlap would drop the trigger while an earlier test's run sleeps its 20 minutes between rounds
    (``SETTLE``) — the resends it asks for are idempotent, a duplicate is taken once by the inbox."""
    await client.get_schedule_handle(RECOVERY_SCHEDULE_ID).trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)


async def test_temporal_killed_while_webhooks_arrive_loses_none(own_stack: LocalStack, tmp_path: Path) -> None:
    stack = own_stack
    service, request_key = await _signed_loan(stack, tmp_path)
    debt_key = (await service.state(request_key)).debt_key
    assert debt_key
    [server] = [p for p in stack.processes if p.name == "temporal"]
    await service.submit_signature(request_key, signature_now())
    server.popen.kill()  # -9: no goodbye
    server.popen.wait()
    stack.processes.remove(server)

    async def disbursed_and_acknowledged() -> list[dict[str, Any]] | None:
        sent = await _deliveries(stack, debt_key)
        done = any(d["status"] == "disbursed" and d["callback_status"] == "sent" for d in sent)
        return sent if done else None

    # The provider went on (signature, averbação, disbursement) and every webhook was acknowledged.
    sent = await eventually(disbursed_and_acknowledged, seconds=60, what="the disbursed webhook acknowledged")
    assert all(d["callback_status"] == "sent" for d in sent), [
        (d["status"], d["callback_status"], d["last_outcome"]) for d in sent
    ]
    engine = create_engine(stack.config.database_url)
    try:
        waiting = [e for e in await Inbox(engine).listing("pending", limit=10_000) if e["route_key"] == debt_key]
        assert waiting, "the webhooks wait in the inbox while Temporal is down"
    finally:
        await engine.dispose()

    stack.start_temporal()  # the same database file
    service = LoanService(await _client(stack), stack.config.task_queue)
    state = await service.wait_until(request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert [e.effect for e in state.events].count("disbursed") == 1


async def test_webhooks_the_provider_gave_up_on_come_back_through_the_recovery_job(
    own_stack: LocalStack, tmp_path: Path
) -> None:
    stack = own_stack
    service, request_key = await _signed_loan(stack, tmp_path)
    debt_key = (await service.state(request_key)).debt_key
    assert debt_key
    [gateway] = [p for p in stack.processes if p.name == "gateway"]
    stack.stop_process(gateway)
    await service.submit_signature(request_key, signature_now())

    async def signature_webhook_failed() -> bool:
        return any(d["callback_status"] == "failed" for d in await _deliveries(stack, debt_key))

    # Three retries 0.3 s apart (the published 5 minutes, compressed), then the provider gives up.
    await eventually(signature_webhook_failed, seconds=30, what="a callback failed")
    # The signature's own answer moves the loan on (seed 001's signature_received, applied from POST
    # /signed); the averbação's and the disbursement's webhooks are what the provider gave up on.
    assert not (await service.state(request_key)).closed
    stack.start_gateway()
    await _recover_now(service.client)
    state = await service.wait_until(request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert state.lookups == 0  # recovered by the resend API, not by the loan asking


async def test_a_worker_killed_during_issuance_issues_one_debt(own_stack: LocalStack, tmp_path: Path) -> None:
    """SIGKILL while the issuance call is at the provider: Temporal retries the activity on the
    restarted worker (after its start-to-close timeout) and the provider makes one debt of it."""
    stack = own_stack
    service = LoanService(await _client(stack), stack.config.task_queue)
    request = sample_request(
        COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    )
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        # Every call for this CPF takes 2 s: long enough to kill the worker inside the issuance.
        (await sandbox.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json={"faults": {"latency_ms": 2000}}))
    await service.start(request)
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.ISSUANCE, seconds=60)
    [worker] = [p for p in stack.processes if p.name == "worker-0"]
    worker.popen.kill()
    worker.popen.wait()
    stack.processes.remove(worker)
    stack.start_worker(0)
    state = await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=150)
    await service.submit_signature(request.request_key, signature_now())
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        debts = (
            await sandbox.get("/_sandbox/debts", params={"requester_identifier_key": state.requester_identifier_key})
        ).json()
    assert debts == [state.debt_key]  # one debt, whatever the retries


async def test_a_worker_killed_during_a_confirmation_is_not_told_refused(own_stack: LocalStack, tmp_path: Path) -> None:
    """SIGKILL while the balance confirmation is at the provider (which applies it): the retry meets
    "not waiting for a balance request" — the provider already did it — and the loan goes on to its
    disbursement instead of ending canceled on a refusal that never was one."""
    stack = own_stack
    service = LoanService(await _client(stack), stack.config.task_queue)
    request = sample_request(
        COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    )
    scenario = {"averbacao": ["pending:success_balance_request_not_found", "success"]}
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        (await sandbox.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json=scenario)).raise_for_status()
    await service.start(request)
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=60)
    await service.submit_signature(request.request_key, signature_now())
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.BALANCE_RECHECK, seconds=60)
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        # From now on every call for this CPF takes 2 s: the confirmation will be in flight a while.
        slow = {**scenario, "faults": {"latency_ms": 2000}}
        (await sandbox.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json=slow)).raise_for_status()

    def confirming(state: LoanState) -> bool:
        return state.balance is not None and len(state.balance_request_keys) == 2

    await service.wait_until(request.request_key, confirming, seconds=60)
    [worker] = [p for p in stack.processes if p.name == "worker-0"]
    worker.popen.kill()
    worker.popen.wait()
    stack.processes.remove(worker)
    stack.start_worker(0)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=150)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")


async def _stored(stack: LocalStack, route_key: str) -> set[str]:
    """The inbox's event ids for this provider key (what the gateway committed, in any status)."""
    engine = create_engine(stack.config.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(webhook_events.c.event_id).where(webhook_events.c.route_key == route_key)
            )
            return {str(row.event_id) for row in rows}
    finally:
        await engine.dispose()


async def test_the_gateway_killed_between_storing_and_acknowledging_loses_nothing_and_applies_once(
    own_stack: LocalStack, tmp_path: Path
) -> None:
    """SIGKILL after the webhook is committed to the inbox and before the provider has its answer: the
    provider sends the same event again (its event_key), the inbox takes it as the duplicate it is, and
    the loan applies it once and completes."""
    stack = own_stack
    service, request_key = await _signed_loan(stack, tmp_path)
    debt_key = (await service.state(request_key)).debt_key
    assert debt_key
    before = await _stored(stack, debt_key)
    [gateway] = [p for p in stack.processes if p.name == "gateway"]
    stack.stop_process(gateway)
    # The real gateway, holding each answer 5 s after the commit (tests/support/gateway_slow_ack.py).
    held_gateway = stack.start_gateway(module="tests.support.gateway_slow_ack")
    await service.submit_signature(request_key, signature_now())

    async def stored_not_answered() -> str | None:
        return next(iter(await _stored(stack, debt_key) - before), None)

    held = await eventually(stored_not_answered, seconds=30, what="a webhook committed, its answer held")
    held_gateway.popen.kill()  # -9 inside the window: stored, never acknowledged
    held_gateway.popen.wait()
    stack.processes.remove(held_gateway)
    event_key = held.removeprefix("event_key:")
    [first, *_] = [d for d in await _deliveries(stack, debt_key) if d["event_key"] == event_key]
    assert first["callback_status"] != "sent"  # the provider never heard back

    stack.start_gateway()

    async def settled() -> bool | None:
        # Every callback sent while the gateway was away has been delivered or given up on: none is
        # still in the provider's retries when the recovery looks (it looks again only 20 min later).
        return all(d["callback_status"] != "pending" for d in await _deliveries(stack, debt_key)) or None

    await eventually(settled, seconds=30, what="the provider's retries settled")
    # Its retries may run out while the gateway restarts: the recovery job asks for them again.
    await _recover_now(service.client)
    state = await service.wait_until(request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert [e.event_id for e in state.events].count(held) == 1  # applied once

    async def acknowledged() -> list[dict[str, Any]] | None:
        again = [d for d in await _deliveries(stack, debt_key) if d["event_key"] == event_key]
        return again if any(d["callback_status"] == "sent" for d in again) else None

    again = await eventually(acknowledged, seconds=30, what="the held event delivered again and acknowledged")
    assert sum(d["attempts"] for d in again) >= 2, again  # the provider did send it again
