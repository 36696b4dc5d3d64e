"""One loan, one trace: starter → workflow → activity → provider HTTP → sandbox → webhook delivery →
gateway → mailbox → signal → loan. Every component runs in this process (so one in-memory exporter
sees all spans), against the stack's Temporal dev server."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from mailbox.claims import TemporalKeyClaimer
from mailbox.workflow import ProviderKeyMailbox
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from temporalio.worker import Worker

from devstack.samples import SAMPLES, sample_cpf, sample_request, signature_now
from devstack.stack import LocalStack, free_port
from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from loan.activities import LoanActivities
from loan.mapping import LenderTerms
from loan.state import Stage
from loan.workflow import LoanWorkflow
from pricing.product import INSS_DEFAULT_PRODUCT
from provider.client import Credentials, ProviderClient
from runtime.settings import TemporalSettings
from runtime.telemetry import setup_tracing
from runtime.temporal import connect
from sandbox.app import create_app as sandbox_app
from sandbox.settings import SandboxSettings
from starter.api import LoanService
from tests.support.servers import ThreadedServer

pytestmark = pytest.mark.integration

SECRET = "trace-test-webhook-secret"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("all-in-one-test", processor=SimpleSpanProcessor(exporter))
    yield exporter


async def test_one_loan_shares_one_trace_across_the_webhook_hop(
    stack: LocalStack, spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    queue = f"trace-{uuid.uuid4()}"
    temporal = TemporalSettings(address=stack.config.temporal_address, task_queue=queue)
    client = await connect(temporal, codec=stack.config.codec_settings())
    gateway_port, sandbox_port = free_port(), free_port()
    sandbox = sandbox_app(
        SandboxSettings(
            port=sandbox_port,
            webhook_url=f"http://127.0.0.1:{gateway_port}/webhooks/sandbox",
            webhook_secret=SecretStr(SECRET),
            processing_delay_seconds=0.05,
        )
    )
    gateway = gateway_app(GatewaySettings(webhook_secrets=SecretStr(SECRET)), temporal, client=client)
    with ThreadedServer(sandbox, sandbox_port, lifespan=True), ThreadedServer(gateway, gateway_port, lifespan=True):
        async with ProviderClient(
            f"http://127.0.0.1:{sandbox_port}", Credentials("lender-dev", SecretStr("dev-client-secret-change-me"))
        ) as provider:
            activities = LoanActivities(
                provider,
                TemporalKeyClaimer(client, queue),
                LenderTerms(purchaser_cnpj="32402502000135"),
                INSS_DEFAULT_PRODUCT,
            )
            async with Worker(
                client, task_queue=queue, workflows=[LoanWorkflow, ProviderKeyMailbox], activities=activities.all()
            ):
                service = LoanService(client, queue)
                request = sample_request(
                    SAMPLES[0], cpf=sample_cpf(1, random.Random()), stamp="trace", documents_dir=tmp_path
                )
                await service.start(request)
                await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=60)
                await service.submit_signature(request.request_key, signature_now())
                state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=60)
                assert state.status.value == "completed", state.outcome_reason

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
    assert in_trace("HandleSignal:webhook")  # the key's mailbox
    assert in_trace("HandleSignal:provider_event")  # the loan itself


def _attr(span: Any, name: str) -> Any:
    return (span.attributes or {}).get(name)
