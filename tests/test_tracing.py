"""One loan, one trace: starter → workflow → activity → provider HTTP → sandbox → webhook delivery →
gateway → inbox → relay → signal → loan. Every component runs in this process (so one in-memory exporter
sees all spans), against the stack's Temporal dev server."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from temporalio.worker import Worker

from activities.admission import Admissions
from activities.qitech import webhook_v2
from activities.qitech.adapter import LoanActivities
from activities.qitech.client import Credentials, ProviderClient
from activities.qitech.mapping import LenderTerms
from activities.sales_channel import SalesChannelActivities
from devtools.devstack.samples import SAMPLES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, free_port
from devtools.sandbox.app import create_app as sandbox_app
from devtools.sandbox.settings import SandboxSettings
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from runtime.settings import TemporalSettings
from runtime.store.db import DatabaseSettings, create_engine
from runtime.telemetry import setup_tracing
from runtime.temporal import connect
from starter.api import LoanService
from tests.support.servers import ThreadedServer
from tests.webhooks.conftest import migrate
from webhooks.gateway.app import create_app as gateway_app
from webhooks.gateway.settings import GatewaySettings
from webhooks.inbox.routes import SqlKeyRouter
from webhooks.inbox.sealing import Opener, new_keypair
from webhooks.inbox.store import Inbox
from webhooks.outbound.outbox import Outbox
from webhooks.relay.relay import Relay, temporal_signal
from workflows.loan.routing import ProviderRouting
from workflows.loan.state import Stage
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import workflow_runner

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("all-in-one-test", processor=SimpleSpanProcessor(exporter))
    yield exporter


CLIENT_KEY = "trace-test-client-key"


async def test_one_loan_shares_one_trace_across_the_webhook_hop(
    stack: LocalStack, spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCUMENTS_ALLOWED_SCHEMES", "https,file")  # the sample's documents are local files
    queue = f"trace-{uuid.uuid4()}"
    temporal = TemporalSettings(address=stack.config.temporal_address, task_queue=queue)
    client = await connect(temporal, codec=stack.config.codec_settings())
    database = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    migrate(database)
    provider_key, lender_key = webhook_v2.new_private_key(), webhook_v2.new_private_key()
    inbox_private, inbox_public = new_keypair("trace")
    gateway_port, sandbox_port = free_port(), free_port()
    sandbox = sandbox_app(
        SandboxSettings(
            port=sandbox_port,
            webhook_url=f"http://127.0.0.1:{gateway_port}/webhooks/sandbox",
            webhook_signing_key=SecretStr(provider_key),
            lender_public_key=webhook_v2.public_key_of(lender_key),
            api_client_key=CLIENT_KEY,
            processing_delay_seconds=0.05,
        )
    )
    gateway = gateway_app(
        GatewaySettings(
            provider_public_keys=webhook_v2.public_key_of(provider_key),
            signing_key=SecretStr(lender_key),
            api_client_key=CLIENT_KEY,
            inbox_public_key=inbox_public,
        ),
        DatabaseSettings(url=database),
    )
    engine = create_engine(database)
    relay = Relay(Inbox(engine), Opener(inbox_private), temporal_signal(client))
    stop, wake = asyncio.Event(), asyncio.Event()
    relaying = asyncio.create_task(
        relay.run(stop, wake, idle=0.05, unrouted_retention=timedelta(days=1), body_retention=timedelta(days=1))
    )
    try:
        with ThreadedServer(sandbox, sandbox_port, lifespan=True), ThreadedServer(gateway, gateway_port, lifespan=True):
            async with ProviderClient(
                f"http://127.0.0.1:{sandbox_port}", Credentials(CLIENT_KEY, SecretStr(lender_key))
            ) as provider:
                activities = LoanActivities(
                    provider,
                    SqlKeyRouter(Inbox(engine)),
                    LenderTerms(purchaser_cnpj="32402502000135"),
                    INSS_DEFAULT_PRODUCT,
                )
                # As worker.py registers them: the admission (a start without a CPF hash is hashed and
                # routed by the worker) and the sales channel's outbox, beside the provider's activities.
                registered: list[Any] = [
                    *activities.all(),
                    Admissions(ProviderRouting(), None).admit_loan,
                    SalesChannelActivities(Outbox(engine)).record_loan_events,
                ]
                async with Worker(
                    client,
                    task_queue=queue,
                    workflows=[LoanWorkflow],
                    workflow_runner=workflow_runner(),
                    activities=registered,
                ):
                    service = LoanService(client, queue)
                    request = sample_request(
                        SAMPLES[0], cpf=sample_cpf(1, random.Random()), stamp="trace", documents_dir=tmp_path
                    )
                    await service.start(request)
                    await service.wait_until(
                        request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=60
                    )
                    await service.submit_signature(request.request_key, signature_now())
                    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=60)
                    assert state.status.value == "completed", state.outcome_reason
    finally:
        stop.set()
        await asyncio.wait_for(relaying, timeout=10)
        await engine.dispose()

    finished = spans.get_finished_spans()
    [start] = [
        s
        for s in finished
        if s.name == "StartWorkflow:LoanWorkflow" and _attr(s, "temporalWorkflowID") == f"loan-{request.request_key}"
    ]
    trace_id = start.context.trace_id

    def in_trace(name: str) -> list[Any]:
        return [s for s in finished if s.name == name and s.context.trace_id == trace_id]

    # The hop, link by link, all in the loan's trace.
    assert in_trace("RunActivity:request_benefits")
    assert [
        s
        for s in finished
        if s.context.trace_id == trace_id and "benefits_request" in s.name and s.kind.name == "SERVER"
    ]
    assert [
        s for s in finished if s.context.trace_id == trace_id and "/webhooks/" in s.name and s.kind.name == "SERVER"
    ]
    assert in_trace("relay deliver")  # the relay, continuing the trace the gateway stored
    assert in_trace("SignalWorkflow:provider_event")
    assert in_trace("HandleSignal:provider_event")  # the loan itself


def _attr(span: Any, name: str) -> Any:
    return (span.attributes or {}).get(name)
