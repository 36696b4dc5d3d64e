"""The second sandbox's HTTP surface: the provider's endpoints (seed 003's, and those the sandbox assumes:
``manual``), its formalization page, and ``/_sandbox`` controls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from devtools.sandbox.clock import CLOCK
from devtools.sandbox.journal import CommitBeforeAnswer, Journal, peek
from devtools.sandbox_b import manual
from devtools.sandbox_b.manual import decode, encode
from devtools.sandbox_b.models import OperationRequest, Refusal, SimulationRequest, parse, products
from devtools.sandbox_b.operations import SandboxB
from devtools.sandbox_b.scenarios import Faults, Scenario
from devtools.sandbox_b.settings import SandboxBSettings
from devtools.sandbox_b.telemetry import instrument_app

FAULTS_HEADER = "X-Sandbox-Faults"

log = logging.getLogger(__name__)


class Login(BaseModel):
    username: str
    password: str


def _json(body: Any, status: int = 200) -> Response:
    return Response(content=encode(body), status_code=status, media_type="application/json")


def refusal_response(error: Refusal) -> Response:
    return _json(error.body(), error.status)


STATE_VERSION = 3
"""Bumped whenever the entries' shape changes: another version's rows are not read back."""


def keep_state(app: FastAPI, sandbox: SandboxB, journal: Journal) -> None:
    """Take the state back, then write it ahead of every answer (sandbox.journal): the state changes
    only on requests (an operation's statuses follow from its wall-clock times), and each request's
    changes — the operation it created, the token it issued — are in the file before its answer
    leaves, entry by entry (a request writes what it touched, not the whole state)."""
    journal.attach("sandbox", sandbox)
    if journal.load():
        log.info("sandbox-b state loaded from %s: %d operations", journal.path, len(sandbox.operations))
    app.add_middleware(CommitBeforeAnswer, journal=journal)


def create_app(settings: SandboxBSettings | None = None) -> FastAPI:
    settings = settings or SandboxBSettings()
    CLOCK.start()  # SANDBOX_TODAY, shared with the first sandbox
    table = products(decode(settings.product_file.read_bytes())) if settings.product_file else None
    sandbox = SandboxB(settings, table)

    app = FastAPI(title="Second provider sandbox (seed 003)")
    app.state.sandbox = sandbox
    instrument_app(app)
    journal = Journal(settings.state_path, STATE_VERSION, verify=settings.state_verify) if settings.state_path else None
    if journal:
        keep_state(app, sandbox, journal)

    @app.exception_handler(Refusal)
    async def refused(_: Request, error: Refusal) -> Response:
        return refusal_response(error)

    def header_faults(request: Request) -> Faults | None:
        raw = request.headers.get(FAULTS_HEADER)
        if not raw:
            return None
        try:
            return Faults.model_validate_json(raw)
        except ValidationError as error:
            raise Refusal(400, "SBX000001", f"bad {FAULTS_HEADER}: {error.errors()[0]['msg']}") from None

    async def guarded(request: Request, cpf: str | None, handler: Callable[[], Awaitable[Response]]) -> Response:
        """Authentication, then the faults of this call's scope, then the call itself."""
        sandbox.check_token(request.headers.get("authorization"))
        header = header_faults(request)
        faults = sandbox.faults_for(cpf, header)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sandbox.take_budget(cpf, "fail_401", header):
            raise Refusal(401, manual.REFUSED_TOKEN, "missing, expired or invalid token", "Unauthorized")
        if sandbox.take_budget(cpf, "fail_5xx", header):
            return _json({"title": "Service Unavailable", "code": "SBX000503", "description": "injected 5xx"}, 503)
        response = await handler()
        if faults.timeout_s:
            # The work is done, the answer is late: the caller times out, and must not create twice.
            await asyncio.sleep(faults.timeout_s)
        return response

    # ------------------------------------------------------------ provider endpoints

    @app.post(manual.LOGIN)
    async def login(request: Request) -> Response:
        try:
            body = Login.model_validate(decode(await request.body()))
        except (ValueError, ValidationError):
            raise Refusal(400, manual.NO_CREDENTIALS, "username and password are required") from None
        return _json(sandbox.login(body.username, body.password))

    # Declared before /operation/{debt_key}, which would otherwise take "tabela_produto" for a key.
    @app.get(manual.PRODUCTS)
    async def tabela_produto(request: Request) -> Response:
        async def handle() -> Response:
            return _json([p.model_dump(mode="python") for p in sandbox.products])

        return await guarded(request, None, handle)

    @app.post(manual.SIMULATION)
    async def simulation(request: Request) -> Response:
        """ASSUMED (seed 003: issue_amount "pode ser obtido na resposta da simulação"; no endpoint printed)."""

        async def handle() -> Response:
            try:
                payload = decode(await request.body())
            except ValueError:
                raise Refusal(400, manual.NOT_JSON, "body is not valid JSON") from None
            return _json(sandbox.simulate(parse(SimulationRequest, payload)))

        return await guarded(request, None, handle)

    @app.post(manual.OPERATION)
    async def create_operation(request: Request) -> Response:
        sandbox.check_token(request.headers.get("authorization"))
        try:
            payload = decode(await request.body())
        except ValueError:
            raise Refusal(400, manual.NOT_JSON, "body is not valid JSON") from None
        client = payload.get("client") if isinstance(payload, dict) else None
        cpf = str(client.get("document_number") or "") if isinstance(client, dict) else None

        async def handle() -> Response:
            body: OperationRequest = parse(OperationRequest, payload)
            refuse_field = sandbox.scenario(cpf or "").refuse_field
            if refuse_field:
                raise Refusal(400, manual.VALIDATION_ERROR, f"'' should be non-empty in {refuse_field}")
            created = sandbox.create(body)
            if sandbox.take_budget(cpf, "lose_creation_answer", header_faults(request)):
                return _json({"title": "Gateway Timeout", "code": "SBX000504", "description": "answer lost"}, 504)
            return _json(sandbox.answer(created), 201)

        return await guarded(request, cpf, handle)

    @app.get(manual.OPERATION)
    async def operations_of_client(request: Request, document_number: str) -> Response:
        """ASSUMED lookup (seed 003 prints none): the operations created for a CPF."""

        async def handle() -> Response:
            found = [sandbox.listed(o) for o in peek(sandbox.operations) if o.cpf == document_number]
            return _json({"data": found})

        return await guarded(request, document_number, handle)

    @app.get(manual.OPERATION_BY_KEY)
    async def operation(request: Request, debt_key: str) -> Response:
        sandbox.check_token(request.headers.get("authorization"))
        found = sandbox.operation(debt_key)

        async def handle() -> Response:
            return _json(sandbox.answer(found))

        return await guarded(request, found.cpf, handle)

    # ------------------------------------------------------------ the borrower's formalization page

    @app.get("/formalizacao/{debt_key}")
    async def formalization_page(debt_key: str) -> HTMLResponse:
        found = sandbox.operation(debt_key)
        return HTMLResponse(
            f"<html><body><h1>Formalização {found.num_contrato}</h1><p>{found.status()}</p>"
            f'<form method="post"><button>Assinar</button></form></body></html>'
        )

    @app.post("/formalizacao/{debt_key}")
    async def formalize_page(debt_key: str) -> dict[str, str]:
        found = sandbox.operation(debt_key)
        found.formalize()
        return {"debt_key": debt_key, "status": found.status()}

    # ------------------------------------------------------------ sandbox controls (tests, demo)

    @app.get("/_sandbox/healthz")
    async def healthz() -> dict[str, Any]:
        health: dict[str, Any] = {"status": "ok", "operations": len(sandbox.operations)}
        if journal and settings.state_verify:
            health["state_untracked"] = journal.untracked  # changes made without a touch
        return health

    @app.put("/_sandbox/scenarios/{cpf}")
    async def put_scenario(cpf: str, scenario: Scenario) -> dict[str, str]:
        sandbox.set_scenario(cpf, scenario)
        return {"cpf": cpf, "status": "set"}

    @app.delete("/_sandbox/scenarios/{cpf}")
    async def delete_scenario(cpf: str) -> dict[str, str]:
        sandbox.clear_scenario(cpf)
        return {"cpf": cpf, "status": "cleared"}

    @app.get("/_sandbox/budgets/{cpf}")
    async def budgets(cpf: str) -> dict[str, int]:
        """The injected failures this CPF has left (a test checks an outage really happened)."""
        return sandbox.budget(cpf)

    @app.put("/_sandbox/faults")
    async def put_faults(faults: Faults) -> dict[str, str]:
        sandbox.set_global_faults(faults)
        return {"status": "set"}

    @app.put("/_sandbox/pricing/{cod_tabela}")
    async def put_price_drift(cod_tabela: str, request: Request) -> dict[str, Any]:
        """Amounts added to this product's simulation answers ({"issue_amount": "0.05", ...}): a
        provider that prices its own way, for the lender's price check to catch."""
        drift = {str(k): Decimal(str(v)) for k, v in decode(await request.body()).items()}
        sandbox.price_drift[cod_tabela] = drift
        return {"cod_tabela": cod_tabela, "drift": {k: str(v) for k, v in drift.items()}}

    @app.put("/_sandbox/products")
    async def put_products(request: Request) -> dict[str, Any]:
        try:
            sandbox.products = products(decode(await request.body()))
        except ValueError as error:  # pydantic's ValidationError is one
            raise Refusal(400, manual.VALIDATION_ERROR, f"not a product table: {error}") from None
        return {"products": [p.cod_tabela for p in sandbox.products]}

    @app.get("/_sandbox/operations")
    async def operations(document_number: str | None = None) -> list[dict[str, Any]]:
        """Every operation created (for a CPF): a test checks an operation was created once."""
        return [
            sandbox.summary(o) for o in peek(sandbox.operations) if document_number is None or o.cpf == document_number
        ]

    @app.post("/_sandbox/operations/{debt_key}/formalize")
    async def formalize(debt_key: str) -> dict[str, Any]:
        found = sandbox.operation(debt_key)
        found.formalize()
        return sandbox.summary(found)

    @app.post("/_sandbox/tokens/expire")
    async def expire_tokens() -> dict[str, int]:
        return {"expired": sandbox.expire_tokens()}

    @app.get("/_sandbox/tokens")
    async def token_counts() -> dict[str, int]:
        return dict(sandbox.token_counts)

    return app
