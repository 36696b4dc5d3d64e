"""The inbox and the relay, on SQLite and on a real PostgreSQL, delivering to a real Temporal server:
duplicates, early arrivals in both commit orders, order, a relay that dies between the signal and
the mark, loans that ended, unreadable bodies, unrouted retention."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from runtime.store.db import create_engine
from runtime.store.schema import webhook_events
from tests.support.servers import ROOT
from tests.webhooks.relay.conftest import opener, signalled, store, target
from webhooks.inbox.store import DELIVERED, EXPIRED, LATE, PARKED, Inbox
from webhooks.relay.relay import Relay, temporal_signal
from workflows.loan.news import DebtMoved, DebtPhase, ProviderNews

pytestmark = pytest.mark.integration


class Killed(Exception):
    """The relay's process dying (as far as its pass can tell: nothing after this line runs)."""


def _body(key: str, status: str = "signature_received", **extra: Any) -> bytes:
    return json.dumps(
        {"webhook_type": "debt", "key": key, "status": status, "data": {}, "event_key": str(uuid.uuid4()), **extra}
    ).encode()


def _relay(inbox: Inbox, client: Client, **options: Any) -> Relay:
    return Relay(inbox, opener(), temporal_signal(client), retry=timedelta(milliseconds=50), **options)


async def _drain(relay: Relay) -> None:
    """Passes until one settles nothing (bounded)."""
    for _ in range(50):
        if await relay.deliver_once() == 0:
            return
    raise AssertionError("the relay kept finding work")


async def _status(inbox: Inbox, event_id: str) -> str:
    async with inbox.engine.connect() as connection:
        found: str = (
            await connection.execute(select(webhook_events.c.status).where(webhook_events.c.event_id == event_id))
        ).scalar_one()
    return found


async def test_a_routed_event_is_delivered_once_and_a_duplicate_is_a_no_op(
    inbox: Inbox, temporal_client: Client
) -> None:
    loan = await target(temporal_client)
    key = str(uuid.uuid4())
    await inbox.route(key, loan.id)
    body = _body(key)
    first_id, stored = await store(inbox, body)
    again_id, stored_again = await store(inbox, body)  # the provider's retry after a lost answer
    assert (stored, stored_again) == (True, False) and again_id == first_id
    relay = _relay(inbox, temporal_client)
    await _drain(relay)
    await _drain(relay)
    assert await signalled(temporal_client, loan) == [first_id]
    assert await _status(inbox, first_id) == DELIVERED
    assert relay.metrics.latency._sum.get() > 0  # receipt-to-delivery observed


async def test_an_event_before_its_route_waits_and_goes_when_the_route_appears(
    inbox: Inbox, temporal_client: Client
) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    early, _ = await store(inbox, _body(key))
    relay = _relay(inbox, temporal_client)
    await _drain(relay)
    assert await signalled(temporal_client, loan) == []
    assert (await inbox.counts())["unrouted"] == 1
    await inbox.route(key, loan.id)
    await _drain(relay)
    assert await signalled(temporal_client, loan) == [early]


async def test_a_route_before_its_event_delivers_on_arrival(inbox: Inbox, temporal_client: Client) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    relay = _relay(inbox, temporal_client)
    await _drain(relay)
    event, _ = await store(inbox, _body(key))
    await _drain(relay)
    assert await signalled(temporal_client, loan) == [event]


async def test_route_and_event_racing_lose_nothing_whichever_commits_first(
    inbox: Inbox, temporal_client: Client
) -> None:
    loan = await target(temporal_client)
    relay = _relay(inbox, temporal_client)
    keys = [str(uuid.uuid4()) for _ in range(30)]
    stored: list[str] = []

    async def arrive(key: str) -> None:
        event, _ = await store(inbox, _body(key))
        stored.append(event)

    async def race(key: str) -> None:
        sides = [arrive(key), inbox.route(key, loan.id)]
        random.shuffle(sides)
        await asyncio.gather(*sides, relay.deliver_once())

    await asyncio.gather(*(race(key) for key in keys))
    await _drain(relay)
    assert sorted(await signalled(temporal_client, loan)) == sorted(stored)
    assert len(stored) == len(keys)


async def test_events_of_one_key_are_delivered_in_arrival_order(inbox: Inbox, temporal_client: Client) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    ids = [(await store(inbox, _body(key, status)))[0] for status in ("signature_received", "disbursed", "settled")]
    await inbox.route(key, loan.id)
    await _drain(_relay(inbox, temporal_client))
    assert await signalled(temporal_client, loan) == ids


async def test_overlapping_passes_keep_a_loans_events_in_order_while_other_loans_go_ahead(
    inbox: Inbox, temporal_client: Client
) -> None:
    """One event per pass, so a backlog makes passes overlap: the loan's first signal is slow; its
    later events (claimed by later passes) wait for it, another loan's event does not."""
    loan, key = await target(temporal_client), str(uuid.uuid4())
    other, other_key = await target(temporal_client), str(uuid.uuid4())
    ids = [(await store(inbox, _body(key, status)))[0] for status in ("signature_received", "disbursed", "settled")]
    other_id, _ = await store(inbox, _body(other_key))
    await inbox.route(key, loan.id)
    await inbox.route(other_key, other.id)
    real = temporal_signal(temporal_client)
    done: list[str] = []

    async def slow_first(loan_id: str, delivered: ProviderNews) -> None:
        if delivered.event_id == ids[0]:
            await asyncio.sleep(0.5)
        await real(loan_id, delivered)
        done.append(delivered.event_id)

    relay = Relay(inbox, opener(), slow_first, batch_size=1, concurrency=4)
    stop = asyncio.Event()
    running = asyncio.create_task(
        relay.run(
            stop, asyncio.Event(), idle=0.05, unrouted_retention=timedelta(days=1), body_retention=timedelta(days=1)
        )
    )
    for _ in range(200):
        if len(done) == 4:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, 10)
    assert await signalled(temporal_client, loan) == ids
    assert done.index(other_id) < done.index(ids[0])  # the other loan did not wait behind the slow one
    for event_id in [*ids, other_id]:
        assert await _status(inbox, event_id) == DELIVERED


async def test_a_relay_dying_between_the_signal_and_the_mark_delivers_again(
    inbox: Inbox, temporal_client: Client
) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    event, _ = await store(inbox, _body(key))
    real = temporal_signal(temporal_client)

    async def signal_then_die(loan_id: str, delivered: ProviderNews) -> None:
        await real(loan_id, delivered)
        raise Killed("killed after the signal, before the mark")

    with pytest.raises(Killed):
        await Relay(inbox, opener(), signal_then_die, lease=timedelta(seconds=1)).deliver_once()
    assert await _status(inbox, event) == "pending"  # never marked
    relay = _relay(inbox, temporal_client)  # another relay (or the same one, restarted)
    assert await relay.deliver_once() == 0  # while the dead relay's lease holds, nobody takes it
    await asyncio.sleep(1.1)
    await _drain(relay)
    # At least once: the loan got it twice, with one identity, and applies it once (loan.facts.receive).
    assert await signalled(temporal_client, loan) == [event, event]
    assert await _status(inbox, event) == DELIVERED


async def test_events_for_an_ended_loan_are_kept_as_late(inbox: Inbox, temporal_client: Client) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    await loan.terminate()
    event, _ = await store(inbox, _body(key, "disbursed"))
    relay = _relay(inbox, temporal_client)
    await _drain(relay)
    assert await _status(inbox, event) == LATE
    assert relay.metrics.late._value.get() == 1


async def test_a_body_the_relay_cannot_open_is_parked_not_retried_forever(
    inbox: Inbox, temporal_client: Client
) -> None:
    from webhooks.inbox.arrival import read_arrival
    from webhooks.inbox.sealing import Sealer, new_keypair

    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    body = _body(key)
    _, foreign_public = new_keypair("someone-else")
    await inbox.put(
        read_arrival(body), Sealer(foreign_public).seal(body), provider="sandbox", received_at=datetime.now(UTC)
    )
    await _drain(_relay(inbox, temporal_client))
    [parked] = await inbox.listing(PARKED)
    assert "cannot read" in str(parked["note"])
    assert await signalled(temporal_client, loan) == []


async def test_temporal_refusing_a_signal_backs_off_and_keeps_the_event(inbox: Inbox, temporal_client: Client) -> None:
    from temporalio.service import RPCError, RPCStatusCode

    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    event, _ = await store(inbox, _body(key))
    real, refusals = temporal_signal(temporal_client), [2]

    async def flaky(loan_id: str, delivered: ProviderNews) -> None:
        if refusals[0]:
            refusals[0] -= 1
            raise RPCError("frontend unavailable", RPCStatusCode.UNAVAILABLE, b"")
        await real(loan_id, delivered)

    relay = Relay(inbox, opener(), flaky, retry=timedelta(milliseconds=100))
    assert await relay.deliver_once() == 0
    assert await relay.deliver_once() == 0  # backing off: not due yet
    for _ in range(40):
        await relay.deliver_once()
        if await _status(inbox, event) == DELIVERED:
            break
        await asyncio.sleep(0.05)
    assert await _status(inbox, event) == DELIVERED
    assert relay.metrics.refused._value.get() == 2
    assert await signalled(temporal_client, loan) == [event]


async def test_unrouted_events_past_retention_expire_visibly_and_can_be_requeued(inbox: Inbox) -> None:
    old, _ = await store(inbox, _body(str(uuid.uuid4())), received_at=datetime.now(UTC) - timedelta(days=8))
    recent, _ = await store(inbox, _body(str(uuid.uuid4())))
    relay = Relay(inbox, opener(), temporal_signal(None))  # type: ignore[arg-type]  # nothing to deliver
    await relay.keep_tidy(unrouted_retention=timedelta(days=7), body_retention=timedelta(days=30))
    assert await _status(inbox, old) == EXPIRED and await _status(inbox, recent) == "pending"
    counts = await inbox.counts()
    assert counts[EXPIRED] == 1 and counts["unrouted"] == 1
    gauge = relay.metrics.registry.get_sample_value("inbox_events", {"status": EXPIRED})
    assert gauge == 1
    # The operator's CLI shows it (no body), and can send it back to pending once its loan exists.
    url = inbox.engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "webhooks.relay.inbox", "list", "--status", "expired"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["event_id"] == old and row["status"] == EXPIRED and "sealed_body" not in row
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "webhooks.relay.inbox", "requeue", old],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert await _status(inbox, old) == "pending"


async def test_delivered_bodies_are_purged_after_retention_and_their_record_stays(
    inbox: Inbox, temporal_client: Client
) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    event, _ = await store(inbox, _body(key))
    relay = _relay(inbox, temporal_client)
    await _drain(relay)
    assert await inbox.purge_bodies(timedelta(days=30)) == 0  # too recent
    assert await inbox.purge_bodies(timedelta(0)) == 1
    async with inbox.engine.connect() as connection:
        row = (await connection.execute(select(webhook_events).where(webhook_events.c.event_id == event))).one()
    assert row.sealed_body is None and row.status == DELIVERED and row.loan_id == loan.id


async def test_a_loan_gets_the_facts_of_a_debt_webhook_not_the_whole_contract(
    inbox: Inbox, temporal_client: Client
) -> None:
    loan, key = await target(temporal_client), str(uuid.uuid4())
    await inbox.route(key, loan.id)
    # The contract and its schedule (fields the tolerant model keeps, whatever their names).
    schedule = [{"due_date": "2027-01-20", "total_amount": "250.00", "installment_number": n} for n in range(84)]
    issued, _ = await store(inbox, _body(key, "waiting_signature", data={"installments": schedule * 4}))
    refused_data = {"cancel_reason": "ted_refusal", "ted_refusal": {"reason_enumerator": "agencia_conta_invalida"}}
    refused, _ = await store(inbox, _body(key, "canceled", data=refused_data))
    await _drain(_relay(inbox, temporal_client))
    delivered: list[ProviderNews] = []
    async for event in loan.fetch_history_events():
        if event.HasField("workflow_execution_signaled_event_attributes"):
            payloads = event.workflow_execution_signaled_event_attributes.input.payloads
            assert sum(len(p.data) for p in payloads) < 4_000  # not the contract's 84 x 4 installments
            [news] = await temporal_client.data_converter.decode(list(payloads), [ProviderNews])
            delivered.append(news)
    assert [d.event_id for d in delivered] == [issued, refused]
    first, second = delivered
    # In the loan's words (the adapter translated it at the relay): what the loan acts on, no contract.
    assert first.status == "waiting_signature" and first.fact == DebtMoved(phase=DebtPhase.OTHER)
    assert second.fact == DebtMoved(
        phase=DebtPhase.PAYMENT_REFUSED, reason="ted_refusal", refusal="agencia_conta_invalida"
    )


async def test_two_relays_on_one_inbox_share_the_work_and_deliver_each_event_once(
    inbox: Inbox, store_url: str, temporal_client: Client
) -> None:
    """Two relays (each its own engine, as two processes) on the same inbox: every event reaches its
    loan exactly once — the leases keep them apart (SKIP LOCKED on PostgreSQL, the write lock on
    SQLite) — and both do part of the work. The order of one loan's events across two relays is not
    promised (the provider's own webhooks are not ordered either)."""
    targets = [await target(temporal_client) for _ in range(4)]
    keys = [str(uuid.uuid4()) for _ in targets]
    expected: dict[str, list[str]] = {handle.id: [] for handle in targets}
    for round_ in range(10):
        for handle, key in zip(targets, keys, strict=True):
            expected[handle.id].append((await store(inbox, _body(key, f"status-{round_}")))[0])
    for handle, key in zip(targets, keys, strict=True):
        await inbox.route(key, handle.id)
    real = temporal_signal(temporal_client)
    by_relay: dict[str, list[str]] = {"a": [], "b": []}

    def signal_as(name: str) -> Any:
        async def signal(loan_id: str, delivered: ProviderNews) -> None:
            await asyncio.sleep(0.02)  # a signal takes a while: the other relay's claims meet leased rows
            await real(loan_id, delivered)
            by_relay[name].append(delivered.event_id)

        return signal

    engines = [create_engine(store_url) for _ in by_relay]
    relays = [
        Relay(Inbox(engine), opener(), signal_as(name), batch_size=5, concurrency=5)
        for engine, name in zip(engines, by_relay, strict=True)
    ]
    stop = asyncio.Event()
    running = [
        asyncio.create_task(
            relay.run(
                stop,
                asyncio.Event(),
                idle=0.05,
                unrouted_retention=timedelta(days=1),
                body_retention=timedelta(days=1),
            )
        )
        for relay in relays
    ]
    try:
        for _ in range(400):
            if sum(len(done) for done in by_relay.values()) >= 40:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a second delivery, if there were one, would come now
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running), 20)
        for engine in engines:
            await engine.dispose()
    for handle in targets:
        assert sorted(await signalled(temporal_client, handle)) == sorted(expected[handle.id])
    assert sorted(by_relay["a"] + by_relay["b"]) == sorted(i for ids in expected.values() for i in ids)
    assert by_relay["a"] and by_relay["b"], {name: len(done) for name, done in by_relay.items()}
    for ids in expected.values():
        for event_id in ids:
            assert await _status(inbox, event_id) == DELIVERED
