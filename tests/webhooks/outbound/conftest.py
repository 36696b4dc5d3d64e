"""The outbox on both databases it runs on (SQLite embedded, a real PostgreSQL), and the sales channel's
development receiver as a real process (``python -m devtools.sales_channel``)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.loan import Product
from runtime.store.db import create_engine
from tests.support.servers import free_port, python_module, running_process
from webhooks.outbound.outbox import Outbox
from workflows.loan.loan_events import EventType, LoanEvent
from workflows.loan.state import Stage, Status

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
OCCURRED = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def event(request_key: str, sequence: int, stage: Stage = Stage.AVERBACAO) -> LoanEvent:
    return LoanEvent(
        type=EventType.STAGE_CHANGED,
        request_key=request_key,
        sequence=sequence,
        occurred_at=OCCURRED + timedelta(minutes=sequence),
        product=Product.NEW_CREDIT,
        stage=stage,
        status=Status.IN_PROGRESS,
    )


@pytest.fixture
async def outbox(store_url: str) -> AsyncIterator[Outbox]:
    engine = create_engine(store_url)
    yield Outbox(engine)
    await engine.dispose()


@dataclass
class Receiver:
    url: str

    @property
    def endpoint(self) -> str:
        return f"{self.url}/events"

    def events(self, request_key: str | None = None) -> dict[str, object]:
        params = {"request_key": request_key} if request_key else {}
        answer = httpx.get(f"{self.url}/events", params=params, timeout=5.0)
        answer.raise_for_status()
        found: dict[str, object] = answer.json()
        return found

    def sequences(self, request_key: str) -> list[int]:
        """The sequence numbers of one loan's events, in the order they arrived (first of each id)."""
        entries = self.events(request_key)["events"]
        assert isinstance(entries, list)
        return [entry["payload"]["data"]["sequence"] for entry in entries]

    def refuse(self, count: int, status: int = 503) -> None:
        httpx.post(f"{self.url}/_receiver/refuse", json={"count": count, "status": status}, timeout=5.0)


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    port = free_port()
    env = {"SALES_CHANNEL_RECEIVER_PORT": str(port), "SALES_CHANNEL_RECEIVER_SECRET": SECRET}
    log = tmp_path_factory.mktemp("receiver") / "receiver.log"
    url = f"http://127.0.0.1:{port}"
    with running_process(python_module("devtools.sales_channel"), env=env, ready_url=f"{url}/healthz", log=log):
        yield Receiver(url)
