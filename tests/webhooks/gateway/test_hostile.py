"""Hostile bodies the provider's key signed (a leaked key, a compromised sender): never a 500, never a
hang. A body nested 100,000 deep within the size limit is refused with a 400 naming the limit before any
parser recurses, and nothing is stored; a number that would take minutes to validate is parked for an
operator as unreadable; a body that is not UTF-8 likewise. Against the app, and against the real
``python -m webhooks.gateway`` process (the run command's gateway, SQLite inbox)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from activities.qitech import webhook_v2
from ops.webhook_keys import one_line
from runtime.store.db import DatabaseSettings, create_engine
from runtime.store.schema import webhook_events
from tests.support.servers import ROOT, ThreadedServer, free_port, python_module, running_process
from tests.webhooks.conftest import migrate
from webhooks.gateway.app import create_app
from webhooks.gateway.settings import GatewaySettings
from webhooks.inbox.sealing import new_keypair
from webhooks.inbox.store import PARKED, Inbox

PATH = "/webhooks/sandbox"
PROVIDER_KEY, LENDER_KEY = webhook_v2.new_private_key(), webhook_v2.new_private_key()
API_CLIENT_KEY = "3f1c2a8e-hostile-tests"
_, INBOX_PUBLIC = new_keypair("hostile")
MAX_BODY = 1_000_000  # the gateway's default


def deep_array(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def deep_object(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def deep_inside_a_webhook(levels: int) -> bytes:
    head = b'{"webhook_type": "debt", "key": "k-deep", "status": "canceled", "data": '
    return head + deep_array(levels) + b"}"


DEEP = {
    "array": deep_array(100_000),
    "object": deep_object(100_000),
    "inside_a_webhook": deep_inside_a_webhook(100_000),
    "never_closed": b"[" * 500_000,
}


@dataclass
class Gateway:
    url: str
    database: str


def _signed(body: bytes) -> dict[str, str]:
    headers = webhook_v2.signed_headers(
        body, method="POST", uri=PATH, private_key=PROVIDER_KEY, api_client_key=API_CLIENT_KEY
    )
    return {"Content-Type": "application/json", **headers}


def _post(gateway: Gateway, body: bytes) -> httpx.Response:
    return httpx.post(f"{gateway.url}{PATH}", content=body, headers=_signed(body), timeout=30)


def _receipt(response: httpx.Response) -> dict[str, Any]:
    return webhook_v2.verify_acknowledgement(
        response.content, response.headers, uri=PATH, public_key=webhook_v2.public_key_of(LENDER_KEY)
    )


def _stored(gateway: Gateway) -> int:
    return asyncio.run(_count(gateway))


def _parked_note(gateway: Gateway, event_id: str) -> str:
    return asyncio.run(_note(gateway, event_id))


async def _count(gateway: Gateway) -> int:
    engine = create_engine(gateway.database)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(webhook_events))).scalar_one())
    finally:
        await engine.dispose()


async def _note(gateway: Gateway, event_id: str) -> str:
    engine = create_engine(gateway.database)
    try:
        parked = {row["event_id"]: row for row in await Inbox(engine).listing(PARKED, limit=1000)}
        return str(parked[event_id]["note"])
    finally:
        await engine.dispose()


def _settings() -> GatewaySettings:
    return GatewaySettings(
        provider_public_keys=webhook_v2.public_key_of(PROVIDER_KEY),
        signing_key=SecretStr(LENDER_KEY),
        api_client_key=API_CLIENT_KEY,
        inbox_public_key=INBOX_PUBLIC,
    )


@pytest.fixture
def app_gateway(tmp_path: Path) -> Iterator[Gateway]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    migrate(url)
    with ThreadedServer(create_app(_settings(), DatabaseSettings(url=url)), free_port(), lifespan=True) as server:
        yield Gateway(server.url, url)


@pytest.fixture
def process_gateway(tmp_path: Path) -> Iterator[Gateway]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    migrate(url)
    port = free_port()
    env = {
        "CONSIGNADO_ENV": "development",
        "DATABASE_URL": url,
        "GATEWAY_PORT": str(port),
        "GATEWAY_PROVIDER_PUBLIC_KEYS": one_line(webhook_v2.public_key_of(PROVIDER_KEY)),
        "GATEWAY_SIGNING_KEY": one_line(LENDER_KEY),
        "GATEWAY_API_CLIENT_KEY": API_CLIENT_KEY,
        "GATEWAY_INBOX_PUBLIC_KEY": INBOX_PUBLIC,
    }
    gateway = Gateway(f"http://127.0.0.1:{port}", url)
    with running_process(
        python_module("webhooks.gateway"), env=env, ready_url=f"{gateway.url}/healthz", log=tmp_path / "gateway.log"
    ):
        yield gateway


def _a_webhook() -> bytes:
    return json.dumps(
        {"webhook_type": "debt", "key": str(uuid.uuid4()), "status": "canceled", "data": {}, "event_key": "e"}
    ).encode()


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_a_signed_body_nested_100_000_deep_gets_a_400_naming_the_limit_and_nothing_is_stored(
    app_gateway: Gateway, shape: str
) -> None:
    body = DEEP[shape]
    assert len(body) < MAX_BODY  # under the size limit: only the depth limit can refuse it
    response = _post(app_gateway, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["reason"] == "too_deep"
    assert "64" in answer["message"]  # the limit, so the sender knows what to fix
    assert _stored(app_gateway) == 0


def test_nesting_a_provider_could_send_is_stored_as_before(app_gateway: Gateway) -> None:
    # A debt webhook's deepest real shape (envelope, data, contract, installments) nests under ten.
    body = json.dumps(
        {
            "webhook": {
                "webhook_type": "debt",
                "key": str(uuid.uuid4()),
                "status": "canceled",
                "data": {"contract": {"installments": [{"due": {"amount": 10, "notes": ["[[[[{{{{"]}}]}},
            }
        }
    ).encode()
    response = _post(app_gateway, body)
    assert response.status_code == 200
    assert _receipt(response)["status"] == "stored"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        # Validating 1e999999999 into an int field would build a billion-digit integer: minutes of CPU.
        (
            b'{"webhook_type": "social_security_balance_request", "key": "k-num", "status": "success", '
            b'"data": {"benefit_number": "1234567890", "number_of_active_reservations": 1e999999999}}',
            "more than 100 digits",
        ),
        (b'{"webhook_type": "debt", "key": "k-int", "data": {"n": ' + b"9" * 200_000 + b"}}", "more than 100 digits"),
        (b'{"webhook_type": "\xff\xfe"}', "can't decode"),
    ],
)
def test_an_unreadable_signed_body_is_parked_quickly_not_a_500_or_a_hang(
    app_gateway: Gateway, body: bytes, why: str
) -> None:
    started = time.perf_counter()
    response = _post(app_gateway, body)
    # A hang guard, not a speed figure: the unbounded path took minutes of CPU.
    assert time.perf_counter() - started < 60
    assert response.status_code == 200, response.text  # parked and acknowledged, as DESIGN.md says
    receipt = _receipt(response)
    assert receipt["status"] == "parked"
    assert why in _parked_note(app_gateway, receipt["event_id"])


@pytest.mark.integration
def test_the_real_gateway_process_answers_400_to_deep_bodies_and_keeps_serving(
    process_gateway: Gateway,
) -> None:
    started = time.perf_counter()
    for _ in range(20):
        for body in DEEP.values():
            response = _post(process_gateway, body)
            assert response.status_code == 400 and response.json()["reason"] == "too_deep"
    # 80 hostile bodies of up to 600 KB: a hang guard (the recursive path took minutes), not a speed figure.
    assert time.perf_counter() - started < 120
    assert _stored(process_gateway) == 0
    assert httpx.get(f"{process_gateway.url}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"{process_gateway.url}/metrics").text
    assert 'webhooks_rejected_total{reason="too_deep"} 80.0' in metrics
    ordinary = _post(process_gateway, _a_webhook())
    assert ordinary.status_code == 200 and _receipt(ordinary)["status"] == "stored"
    assert _stored(process_gateway) == 1


# ---------------------------------------------------------------- PII placed in a signed webhook's fields

CPF, FORMATTED_CPF = "52998224725", "529.982.247-25"  # valid check digits: what a real CPF looks like


def _operators_view(gateway: Gateway, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m webhooks.relay.inbox``, as an operator runs it against the gateway's inbox."""
    return subprocess.run(
        [sys.executable, "-m", "webhooks.relay.inbox", *arguments],
        cwd=ROOT,
        env={"DATABASE_URL": gateway.database, "CONSIGNADO_ENV": "development", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def _database_text(gateway: Gateway) -> bytes:
    """Every byte of the inbox's file (rows, indexes, free pages): what a copy of the store would hold."""
    path = Path(gateway.database.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"webhook_type": CPF}, True),
        ({"webhook_type": f"debt {FORMATTED_CPF}"}, True),
        ({"webhook_type": "debt", "key": CPF, "status": "canceled", "data": {}}, True),  # routable, a CPF for key
        # The event key is kept as a digest (still one identity per key), the key not at all: nothing to show.
        ({"webhook_type": "loan_exploded", "key": CPF, "event_key": CPF}, False),
        ({"webhook_type": "debt", "key": str(uuid.uuid4()), "status": CPF, "data": {}}, False),  # the body's only
    ],
    ids=["type", "formatted_in_type", "key", "event_key", "status"],
)
def test_a_cpf_placed_in_a_signed_webhooks_fields_is_never_shown_in_clear(
    app_gateway: Gateway, fields: dict[str, Any], shown: bool
) -> None:
    body = json.dumps(fields).encode()
    response = _post(app_gateway, body)
    assert response.status_code == 200, response.text  # signed by the provider's key: stored, not refused
    receipt = _receipt(response)
    assert CPF not in json.dumps(receipt) and FORMATTED_CPF not in json.dumps(receipt)

    listed = ""
    for status in ("pending", "parked", "unrouted"):
        listed += _operators_view(app_gateway, "list", "--status", status).stdout
    rows = [json.loads(line) for line in listed.splitlines()]
    assert rows, "the event is listed for the operator"
    assert CPF not in listed and FORMATTED_CPF not in listed
    if shown:  # a field shown redacted: the operator sees that something was there
        assert "<redacted>" in listed
    metrics = httpx.get(f"{app_gateway.url}/metrics").text
    assert CPF not in metrics and FORMATTED_CPF not in metrics
    if all(row["status"] == PARKED for row in rows):
        # Parked, the store itself holds no clear CPF: the body is sealed, the fields redacted. (A
        # routable event keeps its key exactly, as routing needs; the provider's keys are UUIDs.)
        assert CPF.encode() not in _database_text(app_gateway)


def test_rows_stored_in_clear_before_are_redacted_in_the_view_and_requeued_by_ref(app_gateway: Gateway) -> None:
    async def insert() -> None:
        engine = create_engine(app_gateway.database)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    webhook_events.insert().values(
                        event_id=f"event_key:{CPF}",
                        provider="sandbox",
                        received_at=datetime.now(UTC),
                        webhook_type=CPF,
                        route_key=FORMATTED_CPF,
                        status=PARKED,
                        note=f"unknown_webhook_type: webhook_type '{CPF}' is not one we handle",
                        attempts=0,
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(insert())
    listed = _operators_view(app_gateway, "list", "--status", "parked").stdout
    assert CPF not in listed and FORMATTED_CPF not in listed
    [row] = [json.loads(line) for line in listed.splitlines()]
    assert row["webhook_type"] == "<redacted>" and row["event_id"] == "event_key:<redacted>"
    # The operator cannot type an id it was not shown: the row's ref requeues it.
    requeued = _operators_view(app_gateway, "requeue", f"#{row['ref']}")
    assert CPF not in requeued.stdout
    assert _operators_view(app_gateway, "list", "--status", "parked").stdout == ""
    assert CPF not in _operators_view(app_gateway, "list", "--status", "pending").stdout
