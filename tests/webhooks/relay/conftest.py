"""The inbox on both databases it runs on (SQLite embedded, a real PostgreSQL), and a Temporal target
for the relay: a workflow on a task queue nobody polls, so every signal the relay sends is on record
in its history, exactly as the server accepted it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from runtime.store.db import create_engine
from webhooks.inbox.arrival import read_arrival
from webhooks.inbox.sealing import Opener, Sealer, new_keypair
from webhooks.inbox.store import Inbox
from workflows.loan.news import ProviderNews

PRIVATE, PUBLIC = new_keypair("test")


@pytest.fixture
async def inbox(store_url: str) -> AsyncIterator[Inbox]:
    engine = create_engine(store_url)
    yield Inbox(engine)
    await engine.dispose()


def sealer() -> Sealer:
    return Sealer(PUBLIC)


def opener() -> Opener:
    return Opener(PRIVATE)


async def store(
    inbox: Inbox, body: bytes, *, provider: str = "sandbox", received_at: datetime | None = None
) -> tuple[str, bool]:
    """As the gateway stores a verified webhook: (event id, stored)."""
    arrival = read_arrival(body)
    stored = await inbox.put(
        arrival, sealer().seal(body), provider=provider, received_at=received_at or datetime.now(UTC)
    )
    return arrival.event_id, stored


async def target(client: Client) -> WorkflowHandle[Any, Any]:
    """A stand-in for a loan that records the signals it gets (no worker: the server keeps them)."""
    return await client.start_workflow(
        "RelayTarget", id=f"relay-target-{uuid.uuid4()}", task_queue=f"nobody-polls-{uuid.uuid4()}"
    )


async def signalled(client: Client, handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The event ids of the provider events the target was signalled, in order."""
    ids = []
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_execution_signaled_event_attributes"):
            payloads = event.workflow_execution_signaled_event_attributes.input.payloads
            [delivered] = await client.data_converter.decode(list(payloads), [ProviderNews])
            ids.append(delivered.event_id)
    return ids
