"""The gateway's group commit: webhooks arriving together are stored in one transaction, and each is
answered only after it commits, with its own outcome (stored, parked or duplicate); a transaction that
fails answers 503 to every webhook in it and acknowledges none (webhooks/inbox/group_commit.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from activities.qitech import webhook_v2
from runtime.store.db import DatabaseSettings, create_engine
from runtime.store.schema import webhook_events
from tests.support.servers import ThreadedServer, free_port
from tests.webhooks.conftest import migrate
from webhooks.gateway.app import create_app
from webhooks.gateway.settings import GatewaySettings
from webhooks.inbox.arrival import PENDING, Arrival
from webhooks.inbox.group_commit import GroupCommit
from webhooks.inbox.sealing import new_keypair
from webhooks.inbox.store import Inbox, Incoming

PATH = "/webhooks/sandbox"
API_CLIENT_KEY = str(uuid.uuid4())


@dataclass(frozen=True)
class Keys:
    provider: str  # signs the webhooks
    lender: str  # signs our acknowledgements
    inbox_public: str

    def gateway(self, database: DatabaseSettings) -> ThreadedServer:
        settings = GatewaySettings(
            provider_public_keys=webhook_v2.public_key_of(self.provider),
            signing_key=SecretStr(self.lender),
            api_client_key=API_CLIENT_KEY,
            inbox_public_key=self.inbox_public,
        )
        return ThreadedServer(create_app(settings, database), free_port(), lifespan=True)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(webhook_v2.new_private_key(), webhook_v2.new_private_key(), new_keypair("test")[1])


@pytest.fixture
def inbox_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    migrate(url)
    yield url


def _body(event_key: str, webhook_type: str = "debt") -> bytes:
    payload = {"webhook_type": webhook_type, "key": str(uuid.uuid4()), "status": "signature_received"}
    return json.dumps({**payload, "data": {}, "event_key": event_key}).encode()


async def _post_all(url: str, keys: Keys, bodies: Sequence[bytes]) -> list[httpx.Response]:
    """All at once (each signed as the provider signs), as a burst from the provider arrives."""
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=100)) as client:

        async def post(body: bytes) -> httpx.Response:
            headers = webhook_v2.signed_headers(
                body, method="POST", uri=PATH, private_key=keys.provider, api_client_key=API_CLIENT_KEY
            )
            return await client.post(PATH, content=body, headers={"Content-Type": "application/json", **headers})

        return list(await asyncio.gather(*(post(body) for body in bodies)))


def _receipt(keys: Keys, answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return webhook_v2.verify_acknowledgement(
        answer.content, answer.headers, uri=PATH, public_key=webhook_v2.public_key_of(keys.lender)
    )


async def _stored(url: str) -> Counter[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(webhook_events.c.event_id))).scalars().all()
    finally:
        await engine.dispose()
    return Counter(rows)


async def test_a_burst_with_duplicates_is_answered_per_event_and_each_event_stored_once(
    keys: Keys, store_url: str
) -> None:
    inbox_url = store_url
    earlier = [_body(str(uuid.uuid4())) for _ in range(5)]
    fresh = [_body(str(uuid.uuid4())) for _ in range(40)]
    unroutable = _body(str(uuid.uuid4()), webhook_type="loan_exploded")  # parked for an operator
    # Each fresh event three times at once (the provider's retry racing its first delivery), the
    # earlier ones again, the unroutable one twice: shuffled by interleaving.
    burst = [*fresh, *earlier, unroutable, *fresh, unroutable, *fresh]
    with keys.gateway(DatabaseSettings(url=inbox_url)) as gateway:
        before = [_receipt(keys, answer)["status"] for answer in await _post_all(gateway.url, keys, earlier)]
        answers = await _post_all(gateway.url, keys, burst)
    assert before == ["stored"] * 5
    outcomes: dict[str, list[str]] = {}
    for answer in answers:
        receipt = _receipt(keys, answer)
        outcomes.setdefault(receipt["event_id"], []).append(receipt["status"])
    assert len(outcomes) == 46
    fresh_ids = {f"event_key:{json.loads(body)['event_key']}" for body in fresh}
    for event_id in fresh_ids:
        assert sorted(outcomes[event_id]) == ["duplicate", "duplicate", "stored"], event_id
    for body in earlier:
        assert outcomes[f"event_key:{json.loads(body)['event_key']}"] == ["duplicate"]
    assert sorted(outcomes[f"event_key:{json.loads(unroutable)['event_key']}"]) == ["duplicate", "parked"]
    stored = await _stored(inbox_url)
    assert len(stored) == 46 and set(stored.values()) == {1}


async def test_a_transaction_that_fails_answers_503_to_each_webhook_in_it_and_acknowledges_none(
    keys: Keys, inbox_url: str
) -> None:
    bodies = [_body(str(uuid.uuid4())) for _ in range(30)]
    database = DatabaseSettings(url=inbox_url, sqlite_busy_timeout_seconds=0.3)
    with keys.gateway(database) as gateway:
        # Another process holds SQLite's one write lock past the gateway's patience: its inserts fail.
        holder = sqlite3.connect(inbox_url.split("///", 1)[1], isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            refused = await _post_all(gateway.url, keys, bodies)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert [(answer.status_code, answer.json()["reason"]) for answer in refused] == [
            (503, "inbox_unavailable")
        ] * 30
        assert not any(webhook_v2.AUTHORIZATION.lower() in answer.headers for answer in refused)
        assert await _stored(inbox_url) == Counter()
        # The provider retries: now each is stored, once.
        retried = await _post_all(gateway.url, keys, bodies)
    assert [_receipt(keys, answer)["status"] for answer in retried] == ["stored"] * 30
    stored = await _stored(inbox_url)
    assert len(stored) == 30 and set(stored.values()) == {1}


def _incoming(event_id: str) -> Incoming:
    arrival = Arrival(event_id=event_id, webhook_type="debt", route_key=str(uuid.uuid4()), status=PENDING, note=None)
    return Incoming(arrival, b"sealed", "sandbox", datetime.now(UTC))


class _Recording(Inbox):
    """The real inbox, recording each transaction's batch; a batch holding ``poison`` fails."""

    def __init__(self, url: str, poison: str = "") -> None:
        super().__init__(create_engine(url))
        self.batches: list[list[str]] = []
        self.poison = poison

    async def put_many(self, batch: Sequence[Incoming]) -> list[bool]:
        ids = [incoming.arrival.event_id for incoming in batch]
        self.batches.append(ids)
        if self.poison in ids:
            raise ConnectionError("the database went away mid-transaction")
        return await super().put_many(batch)


async def test_waiting_webhooks_share_one_transaction_and_get_their_own_outcomes(store_url: str) -> None:
    inbox_url = store_url
    inbox = _Recording(inbox_url)
    writer = GroupCommit(inbox)
    try:
        assert await writer.put(_incoming("e-0")) is True
        ids = [f"e-{n % 50}" for n in range(100)]  # e-0 already stored; e-1..e-49 twice each
        outcomes = await asyncio.gather(*(writer.put(_incoming(event_id)) for event_id in ids))
    finally:
        await writer.close()
        await inbox.engine.dispose()
    assert max(len(batch) for batch in inbox.batches) > 1  # they did share transactions
    stored = Counter(event_id for event_id, outcome in zip(ids, outcomes, strict=True) if outcome)
    assert stored == Counter({f"e-{n}": 1 for n in range(1, 50)})
    assert await _stored(inbox_url) == Counter({f"e-{n}": 1 for n in range(50)})


async def test_a_failed_transaction_fails_each_of_its_webhooks_and_the_next_one_still_commits(
    store_url: str,
) -> None:
    inbox_url = store_url
    inbox = _Recording(inbox_url, poison="bad")
    writer = GroupCommit(inbox)
    try:
        ids = ["a", "b", "bad", "c"]
        outcomes = await asyncio.gather(*(writer.put(_incoming(i)) for i in ids), return_exceptions=True)
        after = await writer.put(_incoming("d"))
    finally:
        await writer.close()
        await inbox.engine.dispose()
    assert inbox.batches[0] == ids  # one transaction held all four
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert after is True
    assert await _stored(inbox_url) == Counter({"d": 1})
