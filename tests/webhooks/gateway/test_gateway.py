"""The gateway over real HTTP as the run command starts it (webhook-v2 keys, the SQLite inbox):
verify, store sealed, acknowledge with our signature; refuse what is not the provider's; park what
cannot be routed instead of losing it; 413 on oversized bodies; 503 when the inbox cannot store."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from activities.qitech import webhook_v2
from devtools.devstack.stack import LocalStack
from runtime.store.db import DatabaseSettings, create_engine
from runtime.store.schema import webhook_events
from tests.support.servers import ThreadedServer, free_port
from tests.webhooks.conftest import migrate
from webhooks.gateway.app import create_app
from webhooks.gateway.settings import GatewaySettings
from webhooks.inbox.sealing import Opener
from webhooks.inbox.store import PARKED, Inbox

pytestmark = pytest.mark.integration

PATH = "/webhooks/sandbox"
CPF = "52998224725"  # a valid-looking CPF in the body: it must not be readable in the inbox


def _body(key: str | None = None, status: str = "signature_received", **extra: Any) -> bytes:
    payload = {
        "webhook_type": "debt",
        "key": key or str(uuid.uuid4()),
        "status": status,
        "data": {"borrower": {"document_number": CPF}},
        "event_key": str(uuid.uuid4()),
        **extra,
    }
    return json.dumps(payload).encode()


def _signed(stack: LocalStack, body: bytes, **options: Any) -> dict[str, str]:
    """As the provider signs (the sandbox's key)."""
    return webhook_v2.signed_headers(
        body,
        method="POST",
        uri=options.pop("uri", PATH),
        private_key=options.pop("key", stack.config.provider_signing_key),
        api_client_key=stack.config.api_client_key,
        **options,
    )


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}{PATH}", content=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


def _lender_public(stack: LocalStack) -> str:
    return webhook_v2.public_key_of(webhook_v2.pem(stack.config.lender_signing_key))


@pytest.fixture
async def inbox(stack: LocalStack) -> AsyncIterator[Inbox]:
    engine = create_engine(stack.config.database_url)
    yield Inbox(engine)
    await engine.dispose()


async def _row(inbox: Inbox, event_id: str) -> Any:
    async with inbox.engine.connect() as connection:
        return (
            await connection.execute(select(webhook_events).where(webhook_events.c.event_id == event_id))
        ).one_or_none()


async def test_a_verified_webhook_is_stored_sealed_then_acknowledged_with_our_signature(
    stack: LocalStack, inbox: Inbox
) -> None:
    key = str(uuid.uuid4())
    body = _body(key)
    response = _post(stack.config.gateway_url, body, _signed(stack, body))
    assert response.status_code == 200, response.text
    receipt = webhook_v2.verify_acknowledgement(
        response.content, response.headers, uri=PATH, public_key=_lender_public(stack)
    )
    assert receipt["status"] == "stored"
    row = await _row(inbox, receipt["event_id"])
    assert row is not None and row.route_key == key and row.webhook_type == "debt"
    # Sealed: neither the CPF nor the body are in the database; only the relay's key opens it.
    assert CPF.encode() not in row.sealed_body and b"signature_received" not in row.sealed_body
    assert Opener(stack.config.inbox_private_key).open(row.sealed_body) == body


@pytest.mark.parametrize("case", ["missing", "stale", "future", "forged", "tampered", "other_endpoint"])
async def test_what_the_provider_did_not_sign_is_refused_and_not_stored(
    stack: LocalStack, inbox: Inbox, case: str
) -> None:
    body = _body()
    now = datetime.now(UTC)
    sent, headers = (
        body,
        {
            "missing": {},
            "stale": _signed(stack, body, now=now - timedelta(minutes=10)),
            "future": _signed(stack, body, now=now + timedelta(minutes=10)),
            "forged": _signed(stack, body, key=webhook_v2.new_private_key()),
            "tampered": _signed(stack, body),
            "other_endpoint": _signed(stack, body, uri="/webhooks/other"),
        }[case],
    )
    if case == "tampered":
        sent = body.replace(b"signature_received", b"disbursed")
    response = _post(stack.config.gateway_url, sent, headers)
    assert response.status_code == 401
    event_key = json.loads(body)["event_key"]
    assert await _row(inbox, f"event_key:{event_key}") is None


async def test_a_retry_after_a_lost_acknowledgement_is_a_no_op_acknowledged_again(
    stack: LocalStack, inbox: Inbox
) -> None:
    body = _body()
    first = _post(stack.config.gateway_url, body, _signed(stack, body))
    retry = _post(stack.config.gateway_url, body, _signed(stack, body))  # signed anew, same event
    receipts = [
        webhook_v2.verify_acknowledgement(r.content, r.headers, uri=PATH, public_key=_lender_public(stack))
        for r in (first, retry)
    ]
    assert [r["status"] for r in receipts] == ["stored", "duplicate"]
    assert receipts[0]["event_id"] == receipts[1]["event_id"]
    async with inbox.engine.connect() as connection:
        rows = (
            await connection.execute(select(webhook_events).where(webhook_events.c.event_id == receipts[0]["event_id"]))
        ).all()
    assert len(rows) == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b'{"webhook_type": "loan_exploded", "key": "k-unknown-type"}', "unknown_webhook_type"),
        (b'{"webhook_type": "debt", "status": "canceled", "data": {}}', "missing_field"),
    ],
)
async def test_what_cannot_be_routed_is_parked_for_an_operator_not_refused(
    stack: LocalStack, inbox: Inbox, body: bytes, why: str
) -> None:
    response = _post(stack.config.gateway_url, body, _signed(stack, body))
    assert response.status_code == 200  # refused, the provider would retry it three times and drop it
    receipt = webhook_v2.verify_acknowledgement(
        response.content, response.headers, uri=PATH, public_key=_lender_public(stack)
    )
    assert receipt["status"] in ("parked", "duplicate")
    parked = {row["event_id"]: row for row in await inbox.listing(PARKED, limit=10_000)}
    assert why in str(parked[receipt["event_id"]]["note"])


def test_an_oversized_body_is_refused_before_it_is_read_whole(stack: LocalStack) -> None:
    big = b'{"webhook_type": "debt", "pad": "' + b"x" * 2_000_000 + b'"}'
    assert _post(stack.config.gateway_url, big, _signed(stack, big)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(40):
            yield b"x" * 65_536

    response = httpx.post(f"{stack.config.gateway_url}{PATH}", content=chunks(), timeout=10)
    assert response.status_code == 413


def test_rejections_and_storage_are_counted(stack: LocalStack) -> None:
    def value(text: str, start: str) -> float:
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(start))

    metrics = f"{stack.config.gateway_url}/metrics"
    before = httpx.get(metrics).text
    body = _body()
    _post(stack.config.gateway_url, body, {})
    _post(stack.config.gateway_url, body, _signed(stack, body))
    after = httpx.get(metrics).text
    missing = 'webhooks_rejected_total{reason="missing_signature"}'
    stored = 'webhooks_accepted_total{outcome="stored",webhook_type="debt"}'
    assert value(after, missing) == value(before, missing) + 1  # only this test sends unsigned webhooks
    # The session's sandbox may deliver other loans' webhooks meanwhile: at least ours is counted.
    assert value(after, stored) >= value(before, stored) + 1
    assert value(after, "webhook_store_seconds_count") >= value(before, "webhook_store_seconds_count") + 1


def test_health_and_readiness(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.config.gateway_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{stack.config.gateway_url}/readyz").status_code == 200


def _gateway(stack: LocalStack, url: str, **settings: Any) -> ThreadedServer:
    options: dict[str, Any] = {
        "provider_public_keys": webhook_v2.public_key_of(webhook_v2.pem(stack.config.provider_signing_key)),
        "signing_key": SecretStr(stack.config.lender_signing_key),
        "api_client_key": stack.config.api_client_key,
        "inbox_public_key": stack.config.inbox_public_key,
        **settings,
    }
    app = create_app(GatewaySettings(**options), DatabaseSettings(url=url))
    return ThreadedServer(app, free_port(), lifespan=True)


def test_an_inbox_that_cannot_store_gives_503_so_the_provider_retries(stack: LocalStack) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    with _gateway(stack, closed) as gateway:
        body = _body()
        refused = _post(gateway.url, body, _signed(stack, body))
        assert refused.status_code == 503 and refused.json()["reason"] == "inbox_unavailable"
        assert httpx.get(f"{gateway.url}/readyz").status_code == 503


async def test_a_gateway_dying_after_the_store_before_the_answer_loses_nothing(
    stack: LocalStack, tmp_path: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    migrate(url)
    body = _body()
    # This gateway stores the event, then fails before it can sign its answer (no usable key).
    with _gateway(stack, url, signing_key=SecretStr("not a key")) as dying:
        assert _post(dying.url, body, _signed(stack, body)).status_code == 500
    engine = create_engine(url)
    try:
        assert len(await Inbox(engine).listing("pending")) == 1
        # The provider retries; the next gateway finds the event stored and acknowledges it.
        with _gateway(stack, url) as gateway:
            retried = _post(gateway.url, body, _signed(stack, body))
        receipt = webhook_v2.verify_acknowledgement(
            retried.content, retried.headers, uri=PATH, public_key=_lender_public(stack)
        )
        assert receipt["status"] == "duplicate"
        assert len(await Inbox(engine).listing("pending")) == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize("missing", ["GATEWAY_PROVIDER_PUBLIC_KEYS", "GATEWAY_SIGNING_KEY", "GATEWAY_INBOX_PUBLIC_KEY"])
def test_the_gateway_refuses_to_start_without_its_keys(stack: LocalStack, missing: str) -> None:
    complete: dict[str, Any] = {
        "provider_public_keys": webhook_v2.public_key_of(webhook_v2.pem(stack.config.provider_signing_key)),
        "signing_key": SecretStr(stack.config.lender_signing_key),
        "inbox_public_key": stack.config.inbox_public_key,
    }
    field = missing.removeprefix("GATEWAY_").lower()
    settings: dict[str, Any] = {**complete, field: SecretStr("") if field == "signing_key" else ""}
    with pytest.raises(ValueError, match=missing):
        create_app(GatewaySettings(**settings))
