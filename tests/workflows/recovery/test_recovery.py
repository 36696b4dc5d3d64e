"""The recovery job against the sandbox over real HTTP: a callback the provider gave up on (its three
retries refused) is listed as failed by the resend API and, asked for again, delivered."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.qitech.client import ProviderClient
from activities.qitech.recovery import RecoveryActivities
from tests.conftest import SandboxUnderTest
from tests.support.builders import benefits_request
from tests.support.data import make_cpf
from workflows.recovery.contract import ResendRound

pytestmark = pytest.mark.integration


async def _callback_status(sandbox: SandboxUnderTest, key: str) -> str | None:
    with sandbox.admin() as admin:
        deliveries = admin.get("/_sandbox/webhooks", params={"key": key}).json()
    return deliveries[0]["callback_status"] if deliveries else None


async def test_a_webhook_the_provider_gave_up_on_is_delivered_by_the_recovery_job(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    with sandbox.admin() as admin:  # the first attempt and the published three retries all fail
        admin.put(f"/_sandbox/scenarios/{cpf}", json={"faults": {"webhook_delivery_failures": 4}}).raise_for_status()
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    key = created.benefits_request_key
    deadline = time.monotonic() + 20
    while await _callback_status(sandbox, key) != "failed":
        assert time.monotonic() < deadline, "the sandbox never gave up on the callback"
        await asyncio.sleep(0.1)
    assert sandbox.receiver.for_key(key) == []  # nothing arrived: lost, as far as the lender knows

    outcome = await ActivityEnvironment().run(RecoveryActivities(provider).resend_failed_webhooks, ResendRound())
    assert outcome.failed_events >= 1 and outcome.resent >= 1 and not outcome.problems
    [arrived] = sandbox.receiver.wait_for(key, timeout=20)
    assert arrived.authentic
    assert await _callback_status(sandbox, key) == "sent"
    # The resend API no longer lists this event as failed: the next run will not ask for it again.
    now = datetime.now(UTC)
    still_failed = await provider.notification_events(
        start=now - timedelta(hours=1), end=now, callback_status="failed", origin_key=key
    )
    assert still_failed == []


async def test_every_page_of_failed_callbacks_is_read_and_every_one_delivered(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    with sandbox.admin() as admin:
        admin.put(f"/_sandbox/scenarios/{cpf}", json={"faults": {"webhook_delivery_failures": 4}}).raise_for_status()
    created = await asyncio.gather(
        *(provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4())) for _ in range(32))
    )
    keys = [c.benefits_request_key for c in created]
    deadline = time.monotonic() + 30
    for key in keys:
        while await _callback_status(sandbox, key) != "failed":
            assert time.monotonic() < deadline, "the sandbox never gave up on the callbacks"
            await asyncio.sleep(0.1)
    now = datetime.now(UTC)
    listed = await provider.notification_events(start=now - timedelta(hours=1), end=now, callback_status="failed")
    assert set(keys) <= {e.origin_key for e in listed}  # more than the provider's 25 a page: every page read

    with sandbox.admin() as admin:  # the next 32 webhooks of this CPF are delivered
        admin.put(f"/_sandbox/scenarios/{cpf}", json={}).raise_for_status()
    outcome = await ActivityEnvironment().run(RecoveryActivities(provider).resend_failed_webhooks, ResendRound())
    ours = {e.event_key for e in listed if e.origin_key in keys}
    assert outcome.pages >= 2 and ours <= set(outcome.listed) and outcome.resent >= 32 and not outcome.refused
    for key in keys:
        sandbox.receiver.wait_for(key, timeout=20)
        assert await _callback_status(sandbox, key) == "sent"


async def test_a_duplicated_callback_is_one_event_given_up_and_resent_as_one(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    # The sandbox's duplicate fault sends each event twice (the same event_key and callback): the resend
    # API lists it once, and a resend sends every copy again — none stays given up behind the other.
    cpf = make_cpf(1)
    faults = {"duplicate_webhooks": True, "webhook_delivery_failures": 4}
    with sandbox.admin() as admin:
        admin.put(f"/_sandbox/scenarios/{cpf}", json={"faults": faults}).raise_for_status()
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    key = created.benefits_request_key
    deadline = time.monotonic() + 20
    while True:
        with sandbox.admin() as admin:
            copies = admin.get("/_sandbox/webhooks", params={"key": key}).json()
        if len(copies) == 2 and all(c["callback_status"] == "failed" for c in copies):
            break
        assert time.monotonic() < deadline, f"the sandbox never gave up on both copies: {copies}"
        await asyncio.sleep(0.1)
    assert len({c["event_key"] for c in copies}) == 1
    now = datetime.now(UTC)
    listed = await provider.notification_events(
        start=now - timedelta(hours=1), end=now, callback_status="failed", origin_key=key
    )
    assert len(listed) == 1

    await provider.resend_callback(listed[0].event_key, listed[0].callbacks[0].callback_key)
    deadline = time.monotonic() + 20
    while True:
        with sandbox.admin() as admin:
            copies = admin.get("/_sandbox/webhooks", params={"key": key}).json()
        if all(c["callback_status"] == "sent" for c in copies):
            break
        assert time.monotonic() < deadline, f"a copy stayed behind: {copies}"
        await asyncio.sleep(0.1)
    assert len(sandbox.receiver.for_key(key)) >= 1
