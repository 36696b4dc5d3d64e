"""Pensioners' data is not readable where it does not have to be: Temporal's stored history, the
search attributes, the logs, the exported spans, the loan's own failure reasons. Checked on the real
stack with real loans: one that completes, and one that a hostile provider fails twice over, with an
answer pydantic cannot read and a refusal, both quoting the borrower's data back."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import random
import string
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from devtools.devstack.samples import SAMPLES, sample_cpf, sample_request
from devtools.devstack.stack import ROOT, LocalStack, free_port
from domain.documents import keyed_hash
from domain.loan import LoanRequest
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.support.servers import ThreadedServer
from workflows.loan.state import LoanState, Status

pytestmark = pytest.mark.integration


def _payloads(message: Any, path: str = "") -> list[tuple[str, Payload]]:
    """Every Payload anywhere inside a protobuf message (events nest them in many places), with its path."""
    found: list[tuple[str, Payload]] = []
    if isinstance(message, Payload):
        return [(path, message)]
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if hasattr(value, "items"):  # map<string, Payload> (headers, memo, search attributes)
            items = list(value.values())
        elif isinstance(value, Message):
            items = [value]
        else:  # repeated messages
            items = list(value)
        for item in items:
            if isinstance(item, Message):
                found.extend(_payloads(item, f"{path}.{field.name}"))
    return found


@pytest.fixture(scope="module")
async def finished_loan(stack: LocalStack, temporal_client: Client, tmp_path_factory: pytest.TempPathFactory) -> Any:
    service = LoanService(temporal_client, stack.config.task_queue, pii_hash_key=stack.config.pii_hash_key.encode())
    cpf = sample_cpf(2, random.Random())
    request = sample_request(SAMPLES[0], cpf=cpf, stamp="pii", documents_dir=tmp_path_factory.mktemp("docs"))
    await service.start(request)
    await service.outcome(request.request_key)
    return service, request


async def test_raw_history_holds_no_cpf_or_name(stack: LocalStack, finished_loan: Any) -> None:
    service, request = finished_loan
    raw_client = await connect(TemporalSettings(address=stack.config.temporal_address), codec=_plaintext())
    history = await raw_client.get_workflow_handle(service.handle(request.request_key).id).fetch_history()
    found = [pair for event in history.events for pair in _payloads(event)]
    payloads = [p for _, p in found]
    assert len(payloads) > 10
    secrets = (request.borrower.cpf.encode(), request.borrower.name.encode(), b"Natal", b"57555")
    leaked = [path for path, p in found if any(s in p.data for s in secrets)]
    assert leaked == []
    # Everything is encrypted but the search attributes, which Temporal indexes as they are (and
    # which carry stages, statuses and a keyed hash, never PII).
    # The only clear payloads: search attributes (indexed as they are; stages, statuses, a keyed
    # hash) and the SDK's own local-activity bookkeeping (sequence numbers, activity type, times).
    plain = {path for path, p in found if p.metadata.get("encoding") != b"binary/encrypted"}
    allowed = ("search_attributes.indexed_fields", "marker_recorded_event_attributes.details.payloads")
    assert plain and all(path.endswith(allowed) for path in plain), plain
    # Control: the same search through the codec finds the CPF, so the check above can fail.
    codec = service.client.data_converter.payload_codec
    assert codec is not None
    decoded = await codec.decode(payloads)
    assert any(request.borrower.cpf.encode() in p.data for p in decoded)


async def test_search_attributes_carry_a_keyed_hash_never_the_cpf(stack: LocalStack, finished_loan: Any) -> None:
    service, request = finished_loan
    description = await service.handle(request.request_key).describe()
    values = [str(v) for v in description.search_attributes.values()]
    assert not any(request.borrower.cpf in v or request.borrower.name in v for v in values)
    expected = keyed_hash(request.borrower.cpf, stack.config.pii_hash_key.encode())
    assert description.search_attributes["BorrowerCpfHash"] == [expected]
    found = await service.list(cpf=request.borrower.cpf)
    assert [f["request_key"] for f in found] == [request.request_key]


def test_logs_hold_no_cpf_or_name(stack: LocalStack, finished_loan: Any) -> None:
    _, request = finished_loan
    for log in Path(stack.config.data_dir / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        assert request.borrower.cpf not in text, log.name
        assert request.borrower.name not in text, log.name


def _plaintext() -> Any:
    from runtime.codec.settings import CodecSettings

    return CodecSettings(allow_plaintext=True)


# ---------------------------------------------------------------- a loan a hostile provider fails


@dataclasses.dataclass
class HostileRun:
    request: LoanRequest
    outcome_reason: str
    state: LoanState
    workflow_id: str
    logs: Path
    worker_log: Path
    simulations: int
    spans: list[bytes]

    @property
    def secrets(self) -> dict[str, str]:
        borrower = self.request.borrower
        return {
            "cpf": borrower.cpf,
            "formatted cpf": f"{borrower.cpf[:3]}.{borrower.cpf[3:6]}.{borrower.cpf[6:9]}-{borrower.cpf[9:]}",
            "name": borrower.name,
            "mother's name": borrower.mother_name,
            "account": self.request.disbursement_accounts[0].account_number,
        }


def _hostile_provider(sandbox_url: str, borrower: dict[str, str]) -> tuple[FastAPI, dict[str, int]]:
    """The sandbox behind a provider that quotes the borrower back: the first two simulations answer
    200 with a body our model cannot read (the borrower's data where the options belong), and the
    issuance is refused with the whole request body in its description. The rest passes through."""
    app, calls = FastAPI(), {"simulations": 0, "issuances": 0}
    upstream = httpx.AsyncClient(base_url=sandbox_url, timeout=30.0)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def relay(path: str, request: Request) -> Response:
        body = await request.body()
        if path == "debt_simulation":
            calls["simulations"] += 1
            if calls["simulations"] <= 2:
                return Response(json.dumps({"data": {"disbursement_options": [{"borrower": borrower}]}}), 200)
        if path == "debt":
            calls["issuances"] += 1
            refusal = {
                "title": "Request Validator Error",
                "code": "LEG000041",
                "description": f"rejected: {body.decode()}",
            }
            return Response(json.dumps(refusal), 422, media_type="application/json")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = await upstream.request(
            request.method, f"/{path}", params=request.query_params, content=body, headers=headers
        )
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "retry-after")}
        return Response(answer.content, answer.status_code, headers=kept)

    return app, calls


def _collector() -> tuple[FastAPI, list[bytes]]:
    """An OTLP/HTTP trace collector keeping every export request's body as it arrived."""
    app, received = FastAPI(), []

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        body = await request.body()
        received.append(gzip.decompress(body) if request.headers.get("content-encoding") == "gzip" else body)
        return Response(b"", 200, media_type="application/x-protobuf")

    return app, received


def _unmistakable_request(tmp: Path) -> LoanRequest:
    """A loan whose name and account cannot turn up in a log by coincidence (a port, a timestamp)."""
    rng = random.Random()
    base = sample_request(
        SAMPLES[0], cpf=sample_cpf(1, rng), stamp=f"hostile-{uuid.uuid4().hex[:8]}", documents_dir=tmp
    )
    body = base.model_dump(mode="json")
    body["borrower"]["name"] = "Quiteria " + "".join(rng.choices(string.ascii_lowercase, k=8)).title() + " Hostil"
    body["borrower"]["mother_name"] = "Benedita " + "".join(rng.choices(string.ascii_lowercase, k=8)).title()
    body["disbursement_accounts"][0]["account_number"] = "8" + "".join(rng.choices(string.digits, k=10))
    return LoanRequest.model_validate(body)


@pytest.fixture(scope="module")
async def hostile_run(
    stack: LocalStack, temporal_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HostileRun]:
    request = _unmistakable_request(tmp_path_factory.mktemp("hostile"))
    borrower = request.borrower
    quoted = {
        "name": borrower.name,
        "cpf": borrower.cpf,
        "account": request.disbursement_accounts[0].account_number,
    }
    # A sandbox of its own (its provider token is this worker's alone), sending webhooks to the stack's gateway.
    own = LocalStack(dataclasses.replace(stack.config, sandbox_port=free_port()))
    own.start_sandbox()
    proxy_app, calls = _hostile_provider(own.config.sandbox_url, quoted)
    collector_app, spans = _collector()
    proxy_port, collector_port = free_port(), free_port()
    queue = f"pii-{uuid.uuid4().hex[:8]}"
    try:
        with ThreadedServer(proxy_app, proxy_port), ThreadedServer(collector_app, collector_port):
            worker = stack.start_polling_process(
                f"worker-{queue}",
                [sys.executable, str(ROOT / "worker.py")],
                {
                    "TEMPORAL_TASK_QUEUE": queue,
                    **stack.config.provider_env(),
                    "PROVIDER_BASE_URL": f"http://127.0.0.1:{proxy_port}",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
                    "OTEL_BSP_SCHEDULE_DELAY": "200",
                },
            )
            try:
                service = LoanService(temporal_client, queue, pii_hash_key=stack.config.pii_hash_key.encode())
                await service.start(request)
                outcome = await asyncio.wait_for(service.outcome(request.request_key), timeout=120)
                state = await service.state(request.request_key)
            finally:
                stack.stop_process(worker)  # flushes the worker's spans to the collector
            yield HostileRun(
                request=request,
                outcome_reason=outcome.reason or "",
                state=state,
                workflow_id=service.handle(request.request_key).id,
                logs=stack.logs,
                worker_log=worker.log,
                simulations=calls["simulations"],
                spans=list(spans),
            )
    finally:
        own.stop()


async def test_the_hostile_provider_failed_the_loan_twice_over(hostile_run: HostileRun) -> None:
    # The controls: both failures happened and reached the places the other tests search.
    assert hostile_run.state.status == Status.REJECTED
    assert hostile_run.simulations >= 3  # two unreadable answers, retried, then a readable one
    assert "LEG000041" in hostile_run.outcome_reason
    log = hostile_run.worker_log.read_text(errors="replace")
    assert "unreadable answer from /debt_simulation" in log and "input_value=<redacted>" in log
    assert "LEG000041" in log


async def test_the_loans_failure_reason_names_the_code_not_the_borrower(hostile_run: HostileRun) -> None:
    assert hostile_run.outcome_reason.startswith("provider refused issue_debt: LEG000041: rejected: {")
    # The query and the Web UI's current details show these in clear: none may repeat the borrower.
    state = hostile_run.state
    texts = [
        state.outcome_reason,
        state.document_problem,
        state.consultation_failure,
        state.balance_failure,
        state.refusal,
        state.provider_final_reason,
        *(r.message for r in state.rejection),
        *state.unknown_values,
    ]
    leaked = {what for text in texts if text for what, value in hostile_run.secrets.items() if value in text}
    assert leaked == set()


def test_the_logs_hold_none_of_the_borrowers_data(hostile_run: HostileRun) -> None:
    logs = sorted(hostile_run.logs.glob("*.log"))
    assert hostile_run.worker_log in logs
    found = {
        (log.name, what)
        for log in logs
        for what, value in hostile_run.secrets.items()
        if value in log.read_text(errors="replace")
    }
    assert found == set()


def test_the_exported_spans_hold_none_of_the_borrowers_data(hostile_run: HostileRun) -> None:
    assert hostile_run.spans, "the worker exported no spans"
    spans = [
        span
        for body in hostile_run.spans
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    # The control: both failures were recorded on the activities' spans.
    recorded = {
        span.name: " ".join(str(a.value.string_value) for e in span.events for a in e.attributes)
        for span in spans
        if span.events
    }
    assert "LEG000041" in recorded.get("RunActivity:issue_debt", "")
    assert "unreadable answer from /debt_simulation" in recorded.get("RunActivity:simulate", "")
    raw = b"".join(hostile_run.spans)
    assert [what for what, value in hostile_run.secrets.items() if value.encode() in raw] == []


async def test_the_raw_history_of_the_failed_loan_holds_none_of_the_borrowers_data(
    stack: LocalStack, hostile_run: HostileRun, temporal_client: Client
) -> None:
    raw_client = await connect(TemporalSettings(address=stack.config.temporal_address), codec=_plaintext())
    history = await raw_client.get_workflow_handle(hostile_run.workflow_id).fetch_history()
    secrets = {what: value.encode() for what, value in hostile_run.secrets.items()}
    found = [(path, p) for event in history.events for path, p in _payloads(event)]
    leaked = {(path, what) for path, p in found for what, s in secrets.items() if s in p.data}
    assert leaked == set()
    text = history.to_json()  # failure messages and stack traces are not payloads: the whole history
    assert [what for what, value in hostile_run.secrets.items() if value in text] == []
    # The control: through the codec, the same history has the borrower (the loan's input) and the
    # failure's text (encoded, the provider's code in it).
    codec = temporal_client.data_converter.payload_codec
    assert codec is not None
    decoded = await codec.decode([p for _, p in found])
    assert any(secrets["cpf"] in p.data for p in decoded)
    assert any(b"LEG000041" in p.data for p in decoded)
