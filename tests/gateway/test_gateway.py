"""The gateway over real HTTP, in front of a real Temporal dev server and worker."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from mailbox.claims import TemporalKeyClaimer
from mailbox.contract import MailboxState, mailbox_id
from typing import Any

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from devstack.stack import LocalStack, StackConfig
from loan.contract import PROVIDER_EVENT_SIGNAL
from provider.models.webhooks import ReceivedWebhook
from provider.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.support.temporal import eventually

pytestmark = pytest.mark.integration


@workflow.defn(sandboxed=False)  # a test double: this module imports httpx, which the sandbox refuses
class EventSink:
    """Stands in for a loan: records what its mailboxes forward."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.events) >= 1000)
        return self.events

    @workflow.signal(name=PROVIDER_EVENT_SIGNAL)
    def provider_event(self, event: ReceivedWebhook) -> None:
        self.events.append(event.event_id)

    @workflow.query
    def received(self) -> list[str]:
        return self.events


def _body(key: str, status: str = "signature_received", **extra: Any) -> bytes:
    return json.dumps({"key": key, "data": {}, "status": status, "webhook_type": "debt", **extra}).encode()


def _post(stack: LocalStack, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    secret = stack.config.webhook_secret.encode()
    sent = signed_headers(body, secret) if headers is None else headers
    return httpx.post(
        f"{stack.config.gateway_url}/webhooks/sandbox",
        content=body,
        headers={"Content-Type": "application/json", **sent},
        timeout=10,
    )


async def _mailbox(client: Client, key: str) -> MailboxState:
    state: MailboxState = await client.get_workflow_handle(mailbox_id(key)).query("state", result_type=MailboxState)
    return state


@pytest.fixture
async def sink(stack: LocalStack, temporal_client: Client) -> AsyncIterator[Any]:
    queue = f"sink-{uuid.uuid4()}"
    async with Worker(temporal_client, task_queue=queue, workflows=[EventSink]):
        handle = await temporal_client.start_workflow(EventSink.run, id=f"sink-{uuid.uuid4()}", task_queue=queue)
        yield handle
        await handle.terminate()


async def test_a_valid_webhook_is_accepted_into_the_keys_mailbox(stack: LocalStack, temporal_client: Client) -> None:
    key = str(uuid.uuid4())
    response = _post(stack, _body(key))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    state = await _mailbox(temporal_client, key)
    assert [e.event_id for e in state.pending] == [response.json()["event_id"]]
    assert state.status == "waiting_claim"


@pytest.mark.parametrize(
    ("case", "reason"),
    [("missing", "missing_signature"), ("stale", "stale_timestamp"), ("wrong", "bad_signature")],
)
async def test_authentication_failures_are_401_and_reach_no_workflow(
    stack: LocalStack, temporal_client: Client, case: str, reason: str
) -> None:
    key = str(uuid.uuid4())
    body = _body(key)
    secret = stack.config.webhook_secret.encode()
    headers = {
        "missing": {},
        "stale": signed_headers(body, secret, now=time.time() - 301),
        "wrong": signed_headers(body, b"not-the-secret"),
    }[case]
    response = _post(stack, body, headers)
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    with pytest.raises(Exception, match="not found"):
        await _mailbox(temporal_client, key)


def test_a_tampered_body_fails_its_signature(stack: LocalStack) -> None:
    body = _body(str(uuid.uuid4()))
    headers = signed_headers(body, stack.config.webhook_secret.encode())
    response = _post(stack, body.replace(b"signature_received", b"disbursed"), headers)
    assert (response.status_code, response.json()["reason"]) == (401, "bad_signature")


@pytest.mark.parametrize(
    ("body", "status", "reason", "mentions"),
    [
        (b"{not json", 400, "malformed_json", "not valid JSON"),
        (b'{"data": {}, "status": "x"}', 400, "missing_field", "webhook_type"),
        (b'{"webhook_type": "debt", "status": "canceled", "data": {}}', 400, "missing_field", "key"),
        (b'{"webhook_type": "loan_exploded", "key": "k"}', 400, "unknown_webhook_type", "loan_exploded"),
        (b'{"webhook_type": "credit_operation.collateral", "key": "k", "data": {}}', 422, "invalid_field", "data"),
    ],
)
def test_malformed_webhooks_are_refused_naming_the_problem(
    stack: LocalStack, body: bytes, status: int, reason: str, mentions: str
) -> None:
    response = _post(stack, body)
    assert response.status_code == status
    assert response.json()["reason"] == reason
    assert mentions in response.json()["message"]


def test_rejections_and_acceptances_are_counted(stack: LocalStack) -> None:
    before = httpx.get(f"{stack.config.gateway_url}/metrics").text
    _post(stack, b"{not json")
    _post(stack, _body(str(uuid.uuid4())))
    after = httpx.get(f"{stack.config.gateway_url}/metrics").text

    def value(text: str, line_start: str) -> float:
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(line_start))

    assert (
        value(after, 'webhooks_rejected_total{reason="malformed_json"}')
        == value(before, 'webhooks_rejected_total{reason="malformed_json"}') + 1
    )
    assert (
        value(after, 'webhooks_accepted_total{webhook_type="debt"}')
        == value(before, 'webhooks_accepted_total{webhook_type="debt"}') + 1
    )
    assert value(after, "webhook_accept_seconds_count") == value(before, "webhook_accept_seconds_count") + 1


async def test_duplicate_delivery_has_no_second_effect(stack: LocalStack, temporal_client: Client, sink: Any) -> None:
    key = str(uuid.uuid4())
    await TemporalKeyClaimer(temporal_client, stack.config.task_queue).claim(key, sink.id)
    body = _body(key)
    first, second = _post(stack, body), _post(stack, body)
    assert first.status_code == second.status_code == 200
    assert first.json()["event_id"] == second.json()["event_id"]
    received = await eventually(lambda: sink.query(EventSink.received), what="forwarded event")
    await asyncio.sleep(0.5)
    assert await sink.query(EventSink.received) == received == [first.json()["event_id"]]
    assert (await _mailbox(temporal_client, key)).duplicates == 1


async def test_a_webhook_before_its_key_is_claimed_waits_and_is_forwarded_on_claim(
    stack: LocalStack, temporal_client: Client, sink: Any
) -> None:
    key = str(uuid.uuid4())
    early = _post(stack, _body(key))
    assert early.status_code == 200
    assert (await _mailbox(temporal_client, key)).status == "waiting_claim"
    assert await sink.query(EventSink.received) == []
    await TemporalKeyClaimer(temporal_client, stack.config.task_queue).claim(key, sink.id)
    later = _post(stack, _body(key, status="disbursed"))
    received = await eventually(lambda: _at_least(sink, 2), what="both events forwarded")
    assert received == [early.json()["event_id"], later.json()["event_id"]]


async def _at_least(sink: Any, count: int) -> list[str] | None:
    received: list[str] = await sink.query(EventSink.received)
    return received if len(received) >= count else None


async def test_an_unclaimed_key_is_kept_and_findable(stack: LocalStack, temporal_client: Client) -> None:
    key = str(uuid.uuid4())
    assert _post(stack, _body(key)).status_code == 200

    async def listed() -> list[str] | None:
        found = [
            w.id
            async for w in temporal_client.list_workflows(
                f"ProviderKeyMailboxState = 'waiting_claim' AND WorkflowId = '{mailbox_id(key)}'"
            )
        ]
        return found or None

    assert await eventually(listed, what="mailbox in visibility") == [mailbox_id(key)]
    assert len((await _mailbox(temporal_client, key)).pending) == 1


def test_health_and_readiness(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.config.gateway_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{stack.config.gateway_url}/readyz").status_code == 200


async def test_temporal_unavailable_gives_503_then_the_retry_succeeds(tmp_path: Any) -> None:
    config = StackConfig.ephemeral(tmp_path, persist=True)
    stack = LocalStack(config)
    try:
        server = stack.start_temporal()
        stack.start_gateway()
        body = _body(str(uuid.uuid4()))
        assert _post(stack, body).status_code == 200
        stack.stop_process(server)
        refused = _post(stack, body)
        assert refused.status_code == 503
        assert refused.json()["reason"] == "temporal_unavailable"
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{config.gateway_url}/readyz")).status_code == 503
        stack.start_temporal()  # same database file: the first event is still there
        retried = await eventually(lambda: _accepted(stack, body), seconds=30, what="accepted after restart")
        assert retried.json()["event_id"] == refused_id(body)
    finally:
        stack.stop()


async def _accepted(stack: LocalStack, body: bytes) -> httpx.Response | None:
    response = _post(stack, body)
    return response if response.status_code == 200 else None


def refused_id(body: bytes) -> str:
    from provider.models.webhooks import event_identity, load_json

    return event_identity(load_json(body))


def test_headers_are_the_documented_ones() -> None:
    assert (SIGNATURE_HEADER, TIMESTAMP_HEADER) == ("X-Webhook-Signature", "X-Webhook-Timestamp")
