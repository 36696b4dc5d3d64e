"""The notifier against the real development receiver: signed (the receiver verifies every signature),
in order per loan, retried after a refusal, and an unreachable receiver leaves the events queued and
visible — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from runtime.store.db import create_engine
from tests.support.servers import ROOT, free_port
from tests.webhooks.conftest import migrate
from tests.webhooks.outbound.conftest import SECRET, Receiver, event
from webhooks.outbound.notifier import Notifier
from webhooks.outbound.outbox import Outbox

pytestmark = pytest.mark.integration

RETRY = timedelta(milliseconds=200)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def notifier(outbox: Outbox, url: str, http: httpx.AsyncClient, secret: str = SECRET) -> Notifier:
    return Notifier(outbox, url, Webhook(secret), http, retry=RETRY, max_backoff=timedelta(seconds=1))


async def drain(notifier: Notifier, *, seconds: float = 10.0) -> None:
    """Passes until the outbox has nothing queued (waiting out back-offs), bounded."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (await notifier.outbox.counts())["queued"]:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"still queued: {await notifier.outbox.listing('queued')}")
        if not await notifier.deliver_once():
            await asyncio.sleep(0.05)


def loan_key() -> str:
    return f"sale-{uuid.uuid4()}"


async def test_each_loans_events_arrive_signed_in_order_once_each(
    outbox: Outbox, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    first, second = loan_key(), loan_key()
    await outbox.put([event(first, n) for n in (1, 2, 3)])
    await outbox.put([event(second, n) for n in (1, 2)])
    sender = notifier(outbox, receiver.endpoint, http)
    assert await sender.deliver_once() == 2  # one event per loan per pass: each loan's next
    await drain(sender)
    assert receiver.sequences(first) == [1, 2, 3]
    assert receiver.sequences(second) == [1, 2]
    assert receiver.events(first)["repeats"] == {}
    counts = await outbox.counts()
    assert (counts["queued"], counts["delivered"], counts["failing"]) == (0, 5, 0)
    told = receiver.events(first)["events"]
    assert isinstance(told, list)
    assert [entry["webhook_id"] for entry in told] == [f"{first}:1", f"{first}:2", f"{first}:3"]


async def test_the_same_events_recorded_twice_are_queued_once(outbox: Outbox) -> None:
    key = loan_key()
    assert await outbox.put([event(key, 1), event(key, 2)]) == 2
    assert await outbox.put([event(key, 1), event(key, 2), event(key, 3)]) == 1  # a retried, longer batch
    assert [row["sequence"] for row in await outbox.listing("queued")] == [1, 2, 3]


async def test_a_refusal_is_retried_after_its_backoff_and_holds_only_its_own_loans_later_events(
    outbox: Outbox, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    held, other = loan_key(), loan_key()
    await outbox.put([event(held, 1), event(held, 2)])
    sender = notifier(outbox, receiver.endpoint, http)
    receiver.refuse(1)
    assert await sender.deliver_once() == 0  # the held loan's first event, refused
    [waiting] = [row for row in await outbox.listing("queued") if row["sequence"] == 1]
    assert waiting["attempts"] == 1 and waiting["last_error"] == "refused: HTTP 503"
    await outbox.put([event(other, 1)])
    assert await sender.deliver_once() == 1  # another loan goes on; the held loan's 2 waits behind its 1
    assert receiver.sequences(held) == [] and receiver.sequences(other) == [1]
    await drain(sender)
    assert receiver.sequences(held) == [1, 2]
    assert (await outbox.counts())["failing"] == 0


async def test_an_unreachable_receiver_leaves_the_events_queued_and_visible(
    outbox: Outbox, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    key = loan_key()
    await outbox.put([event(key, 1), event(key, 2)])
    nobody = f"http://127.0.0.1:{free_port()}/events"
    away = notifier(outbox, nobody, http)
    for _ in range(3):
        await away.deliver_once()
        await asyncio.sleep(RETRY.total_seconds() * 2)
    counts = await outbox.counts()
    assert (counts["queued"], counts["failing"], counts["delivered"]) == (2, 1, 0)
    oldest = await outbox.oldest_queued()
    assert oldest is not None and oldest["event_id"] == f"{key}:1"
    assert oldest["last_error"] == "unreachable: ConnectError" and oldest["attempts"] == 3
    # The receiver is back (here: the address fixed): every queued event due now, then delivered.
    assert await outbox.retry_now() == 2
    await drain(notifier(outbox, receiver.endpoint, http))
    assert receiver.sequences(key) == [1, 2]


async def test_a_wrong_signature_is_refused_by_the_receiver_and_stays_queued(
    outbox: Outbox, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    key = loan_key()
    await outbox.put([event(key, 1)])
    forger = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    rejected_before = receiver.events()["rejected"]
    assert await notifier(outbox, receiver.endpoint, http, secret=forger).deliver_once() == 0
    assert receiver.events()["rejected"] == rejected_before + 1  # type: ignore[operator]
    assert receiver.sequences(key) == []
    [row] = await outbox.listing("queued")
    assert row["last_error"] == "refused: HTTP 401"


async def test_two_notifiers_side_by_side_keep_each_loans_order(
    outbox: Outbox, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    keys = [loan_key() for _ in range(4)]
    for key in keys:
        await outbox.put([event(key, n) for n in range(1, 6)])
    one, two = notifier(outbox, receiver.endpoint, http), notifier(outbox, receiver.endpoint, http)
    await asyncio.gather(drain(one), drain(two))
    for key in keys:
        assert receiver.sequences(key) == [1, 2, 3, 4, 5]
        assert receiver.events(key)["repeats"] == {}


def test_operators_see_counts_and_the_oldest_queued_event(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    migrate(url)
    key = loan_key()

    async def record() -> None:
        engine = create_engine(url)
        await Outbox(engine).put([event(key, 1), event(key, 2)])
        await engine.dispose()

    asyncio.run(record())
    env = {**os.environ, "DATABASE_URL": url, "CONSIGNADO_ENV": "development"}
    command = [sys.executable, "-m", "webhooks.outbound", "counts"]
    shown = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr.decode()
    report = json.loads(shown.stdout)
    assert report["counts"] == {"queued": 2, "delivered": 0, "failing": 0}
    assert report["oldest_queued"]["event_id"] == f"{key}:1"
    assert report["oldest_queued"]["occurred_at"].startswith("2026-12-02 14:01:00")
