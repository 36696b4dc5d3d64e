"""The sandbox's HTTP surface: the provider's endpoints (seed 001 paths) and ``/_sandbox`` controls."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from devtools.sandbox.authentication import RequestAuthentication
from devtools.sandbox.bodies import (
    AttachedDocuments,
    BalanceRequest,
    BalanceRequestConfirmation,
    BenefitsRequest,
    ChangeDisbursementDate,
    CollateralCorrection,
    IssuanceRequest,
    Recalculate,
    SignatureEvidence,
)
from devtools.sandbox.clock import CLOCK
from devtools.sandbox.delivery import DeliveryPolicy, WebhookDispatcher
from devtools.sandbox.journal import CommitBeforeAnswer, peek
from devtools.sandbox.persistence import SandboxState
from devtools.sandbox.portability import PortabilitySandbox, portability_routes
from devtools.sandbox.pricing import Product
from devtools.sandbox.provider import SandboxProvider
from devtools.sandbox.refusal import SUSPENDED, ProviderRefusal, validation_refusal
from devtools.sandbox.scenarios import Faults, Scenario
from devtools.sandbox.settings import SandboxSettings
from devtools.sandbox.signing import Signing
from devtools.sandbox.telemetry import instrument_app
from devtools.sandbox.wire import decode, json_response

M = TypeVar("M", bound=BaseModel)


class Clock(BaseModel):
    """Move the sandbox's date: ``today`` (the day it is to be) or ``offset_days`` from its start."""

    offset_days: float = 0.0
    today: date | None = None


FAULTS_HEADER = "X-Sandbox-Faults"


_json = json_response


def create_app(settings: SandboxSettings | None = None, product: Product | None = None) -> FastAPI:
    settings = settings or SandboxSettings()
    CLOCK.start()
    if product is None and settings.product_file:
        product = Product.from_json(decode(settings.product_file.read_bytes()))
    if settings.webhook_signature_scheme == "webhook-v2" and not settings.webhook_signing_key.get_secret_value():
        raise ValueError("SANDBOX_WEBHOOK_SIGNING_KEY is not set: webhook-v2 webhooks could not be signed")
    dispatcher = WebhookDispatcher(
        settings.webhook_url,
        Signing(
            scheme=settings.webhook_signature_scheme,
            private_key=settings.webhook_signing_key.get_secret_value(),
            api_client_key=settings.api_client_key,
            lender_public_key=settings.lender_public_key,
            hmac_secret=settings.webhook_secret.get_secret_value().encode(),
        ),
        policy=DeliveryPolicy(
            retries=settings.webhook_retries,
            retry_seconds=settings.webhook_retry_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
        ),
    )
    sandbox = SandboxProvider(settings, dispatcher, product or Product())
    if settings.lender_public_key:
        sandbox.authentication = RequestAuthentication(settings.api_client_key, settings.lender_public_key)
    portability = PortabilitySandbox(sandbox)  # Port+Refin (seed 002)
    # Only with SANDBOX_STATE_PATH: the state outlives the process (sandbox.persistence).
    state = (
        SandboxState(settings.state_path, sandbox, portability, dispatcher, verify=settings.state_verify)
        if settings.state_path
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async def watch_windows() -> None:
            while True:
                await asyncio.sleep(1.0)
                with state.journal.unit() if state else contextlib.nullcontext():
                    if await sandbox.expire_windows() and state:
                        state.commit()

        if state:
            state.load()
        watcher = asyncio.create_task(watch_windows())
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await sandbox.aclose()
        await dispatcher.aclose()
        if state:
            state.close()

    app = FastAPI(title="Provider sandbox", lifespan=lifespan)
    app.state.sandbox = sandbox
    instrument_app(app)
    calls: Counter[str] = Counter()  # "POST /debt/<key>/signed" -> how many arrived (GET /_sandbox/calls)

    @app.middleware("http")
    async def count_calls(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith("/_sandbox"):
            calls[f"{request.method} {request.url.path}"] += 1
            # The exact bytes the signature covers, kept before a form parser (/upload) consumes them.
            request.state.raw_body = await request.body()
        return await call_next(request)

    if state:
        # Outermost of the app's own middleware: the commit happens as the final answer starts.
        app.add_middleware(CommitBeforeAnswer, journal=state.journal)
    app.include_router(portability_routes(portability))

    @app.exception_handler(ProviderRefusal)
    async def refused(_: Request, error: ProviderRefusal) -> Response:
        return error.response()

    async def body_of(request: Request, model: type[M]) -> M:
        try:
            return model.model_validate(decode(await request.body()))
        except ValidationError as error:
            raise validation_refusal(error) from None
        except ValueError:
            raise ProviderRefusal(400, "LEG000040", "body is not valid JSON") from None

    def header_faults(request: Request) -> Faults | None:
        raw = request.headers.get(FAULTS_HEADER)
        if not raw:
            return None
        try:
            return Faults.model_validate_json(raw)
        except ValidationError as error:
            raise ProviderRefusal(400, "SBX000001", f"bad {FAULTS_HEADER}: {error.errors()[0]['msg']}") from None

    async def guarded(request: Request, cpf: str | None, handler: Callable[[Faults], Awaitable[Response]]) -> Response:
        """Authentication, then the faults of this call's scope, then the call itself."""
        await sandbox.authenticate(request)
        header = header_faults(request)
        faults = sandbox.faults_for(cpf, header)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sandbox.take_budget(cpf, "suspended", header):
            return _json(SUSPENDED, 500)
        if sandbox.take_budget(cpf, "fail_5xx", header):
            return _json({"title": "Service Unavailable", "code": "SBX000503", "description": "injected 5xx"}, 503)
        response = await handler(faults)
        if response.status_code < 300 and sandbox.take_budget(cpf, "lose_answers", header):
            return _json({"title": "Gateway Timeout", "code": "SBX000504", "description": "answer lost"}, 504)
        if faults.timeout_s:
            # The work is done, the answer is late: the caller times out and retries, which is
            # exactly what idempotency has to survive.
            await asyncio.sleep(faults.timeout_s)
        return response

    def idempotency_key(request: Request) -> str | None:
        return request.headers.get("idempotency-key")

    # ------------------------------------------------------------ provider endpoints

    @app.post("/upload")
    async def upload(request: Request, file: UploadFile) -> Response:
        content = await file.read()

        async def handle(_: Faults) -> Response:
            remembered = sandbox.remembered("upload", idempotency_key(request))
            if remembered is None:
                remembered = sandbox.upload(content)
                sandbox.remember("upload", idempotency_key(request), remembered)
            return _json(remembered, 201)

        return await guarded(request, None, handle)

    @app.post("/social_security/benefits_request")
    async def benefits_request(request: Request) -> Response:
        body = await body_of(request, BenefitsRequest)

        async def handle(faults: Faults) -> Response:
            answer = sandbox.remembered("benefits", idempotency_key(request))
            if answer is None:
                answer = await sandbox.benefits_request(body, faults)
                sandbox.remember("benefits", idempotency_key(request), answer)
            return _json(answer, 201)

        return await guarded(request, body.document_number, handle)

    @app.post("/social_security/balance_request")
    async def balance_request(request: Request) -> Response:
        body = await body_of(request, BalanceRequest)

        async def handle(faults: Faults) -> Response:
            answer = sandbox.remembered("balance", idempotency_key(request))
            if answer is None:
                answer = await sandbox.balance_request(body, faults)
                sandbox.remember("balance", idempotency_key(request), answer)
            return _json(answer, 201)

        return await guarded(request, body.document_number, handle)

    @app.post("/debt_simulation")
    async def debt_simulation(request: Request) -> Response:
        try:
            payload = decode(await request.body())
        except ValueError:
            raise ProviderRefusal(400, "LEG000040", "body is not valid JSON") from None

        async def handle(_: Faults) -> Response:
            try:
                return _json(sandbox.simulate(payload))
            except ValidationError as error:
                raise validation_refusal(error) from None

        return await guarded(request, None, handle)

    @app.post("/debt")
    async def issue_debt(request: Request) -> Response:
        body = await body_of(request, IssuanceRequest)

        async def handle(faults: Faults) -> Response:
            return _json(await sandbox.issue_debt(body, faults), 201)

        return await guarded(request, body.borrower.individual_document_number, handle)

    @app.post("/debt/{debt_key}/related_party/{related_party_key}/attached_document")
    async def attach(request: Request, debt_key: str, related_party_key: str) -> Response:
        debt = sandbox.debt(debt_key)
        body = await body_of(request, AttachedDocuments)

        async def handle(_: Faults) -> Response:
            sandbox.attach_documents(debt, related_party_key, body)
            return _json({"debt_key": debt_key, "related_party_key": related_party_key})

        return await guarded(request, debt.cpf, handle)

    @app.post("/debt/{debt_key}/signed")
    async def signed(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)
        body = await body_of(request, SignatureEvidence)

        async def handle(faults: Faults) -> Response:
            return _json(await sandbox.sign(debt, body, faults))

        return await guarded(request, debt.cpf, handle)

    @app.get("/debt/{debt_key}/collateral")
    async def get_collateral(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)

        async def handle(_: Faults) -> Response:
            return _json(sandbox.collateral_view(debt))

        return await guarded(request, debt.cpf, handle)

    @app.patch("/debt/{debt_key}/collateral")
    async def patch_collateral(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)
        body = await body_of(request, CollateralCorrection)

        async def handle(_: Faults) -> Response:
            sandbox.correct_collateral(debt, body)
            return _json(sandbox.collateral_view(debt))

        return await guarded(request, debt.cpf, handle)

    @app.post("/debt/{debt_key}/collateral/balance_request_confirmation")
    async def confirm_balance(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)
        body = await body_of(request, BalanceRequestConfirmation)

        async def handle(_: Faults) -> Response:
            sandbox.confirm_balance_request(debt, body)
            return _json(sandbox.collateral_view(debt))

        return await guarded(request, debt.cpf, handle)

    @app.post("/debt/{debt_key}/cancel_permanently")
    async def cancel_permanently(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)

        async def handle(_: Faults) -> Response:
            await sandbox.cancel_permanently(debt)
            return _json({"key": debt_key, "status": debt.status})

        return await guarded(request, debt.cpf, handle)

    @app.post("/debt/{debt_key}/change_disbursement_date")
    async def change_date(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)
        body = await body_of(request, ChangeDisbursementDate)

        async def handle(_: Faults) -> Response:
            return _json(sandbox.change_disbursement_date(debt, body))

        return await guarded(request, debt.cpf, handle)

    @app.post("/v2/credit_operation/{debt_key}/recalculate")
    async def recalculate(request: Request, debt_key: str) -> Response:
        debt = sandbox.debt(debt_key)
        body = await body_of(request, Recalculate)

        async def handle(_: Faults) -> Response:
            return _json(sandbox.recalculate(debt, body))

        return await guarded(request, debt.cpf, handle)

    @app.get("/v2/credit_operation/requester_identifier_key/{requester_key}")
    async def credit_operation_by_requester_key(request: Request, requester_key: str) -> Response:
        """The published lookup (docs.qitech.com.br/documentation/emissao_de_divida/
        consulta_por_requester_identifier_key): what a retry asks before creating again."""
        debt = sandbox.debt_by_requester(requester_key)

        async def handle(_: Faults) -> Response:
            return _json(sandbox.credit_operation_view(debt))

        return await guarded(request, debt.cpf, handle)

    @app.get("/v2/credit_operation/{debt_key}")
    async def credit_operation(request: Request, debt_key: str) -> Response:
        """The published lookup by the debt's own key (docs.qitech.com.br/documentation/emissao_de_divida/
        consulta_por_credit_operation_key): what a retried change reads before making it again."""
        debt = sandbox.debt(debt_key)

        async def handle(_: Faults) -> Response:
            return _json(sandbox.credit_operation_view(debt))

        return await guarded(request, debt.cpf, handle)

    # ------------------------------------------------------------ the resend API (reenvio de notificações)

    @app.get("/notification/events")
    async def notification_events(
        request: Request,
        start_datetime: datetime,
        end_datetime: datetime,
        callback_status: str | None = None,
        origin_key: str | None = None,
        event_type: str | None = None,
        page: int = 1,
    ) -> Response:
        """Published: events by callback status and origin key, within at most 14 days, a page at a
        time (``pagination``: current_page, rows_per_page 25 as in the published example; the request's
        page parameter is not published: ``page``, counted from 1, is assumed)."""
        if end_datetime - start_datetime > timedelta(days=14) or end_datetime < start_datetime:
            raise ProviderRefusal(400, "NTF000001", "the window must be 14 days or less")
        if page < 1:
            raise ProviderRefusal(400, "NTF000003", "page must be 1 or more")

        async def handle(_: Faults) -> Response:
            found = dispatcher.events(
                callback_status=callback_status, origin_key=origin_key, start=start_datetime, end=end_datetime
            )
            data = [
                {
                    "event_key": d.event_key,
                    "event_type": d.webhook_type,
                    "status": "processed",
                    "origin_enumerator": "lego",
                    "origin_key": d.key,
                    "callbacks": [{"callback_key": d.callback_key, "callback_status": d.callback_status}],
                }
                for d in found
                if event_type is None or d.webhook_type == event_type
            ]
            rows = settings.notification_rows_per_page
            shown = data[(page - 1) * rows : page * rows]
            return _json({"data": shown, "pagination": {"current_page": page, "rows_per_page": rows}})

        return await guarded(request, None, handle)

    @app.patch("/notification/events/{event_key}/callbacks/{callback_key}")
    async def resend_callback(request: Request, event_key: str, callback_key: str) -> Response:
        """Published as a PATCH naming event_key and callback_key; the path is assumed."""

        async def handle(_: Faults) -> Response:
            delivery = dispatcher.resend(event_key, callback_key)
            if delivery is None:
                raise ProviderRefusal(404, "NTF000002", "no such event or callback", "Not Found")
            return _json({"event_key": event_key, "callback_key": callback_key, "callback_status": "pending"})

        return await guarded(request, None, handle)

    # ------------------------------------------------------------ sandbox controls (tests, demo)

    @app.get("/_sandbox/calls")
    async def calls_received(path: str | None = None) -> dict[str, int]:
        """How many times each provider endpoint was called (a test counts a loan's calls)."""
        return {call: n for call, n in calls.items() if path is None or call.endswith(f" {path}")}

    @app.get("/_sandbox/clock")
    async def get_clock() -> dict[str, Any]:
        return {"offset_days": CLOCK.offset / timedelta(days=1), "today": CLOCK.today().isoformat()}

    @app.put("/_sandbox/clock")
    async def put_clock(clock: Clock) -> dict[str, Any]:
        if clock.today is not None:
            CLOCK.move_to(clock.today)
        else:
            CLOCK.offset = timedelta(days=clock.offset_days)
        return {"offset_days": CLOCK.offset / timedelta(days=1), "today": CLOCK.today().isoformat()}

    @app.get("/_sandbox/healthz")
    async def healthz() -> dict[str, Any]:
        health: dict[str, Any] = {"status": "ok", "pending_webhooks": dispatcher.pending()}
        if state:
            health["state_saved"] = state.saved  # nothing changed since the last commit
            if settings.state_verify:
                health["state_untracked"] = state.journal.untracked  # changes made without a touch
        return health

    @app.put("/_sandbox/scenarios/{cpf}")
    async def put_scenario(cpf: str, scenario: Scenario) -> dict[str, str]:
        sandbox.set_scenario(cpf, scenario)
        return {"cpf": cpf, "status": "set"}

    @app.delete("/_sandbox/scenarios/{cpf}")
    async def delete_scenario(cpf: str) -> dict[str, str]:
        sandbox.scenarios.pop(cpf, None)
        return {"cpf": cpf, "status": "cleared"}

    @app.put("/_sandbox/faults")
    async def put_faults(faults: Faults) -> dict[str, str]:
        sandbox.set_global_faults(faults)
        return {"status": "set"}

    @app.get("/_sandbox/webhooks")
    async def deliveries(key: str | None = None) -> list[dict[str, Any]]:
        return [d.summary() for d in dispatcher.listed() if key is None or d.key == key]

    @app.get("/_sandbox/debts/{debt_key}")
    async def debt_state(debt_key: str) -> dict[str, Any]:
        debt = sandbox.debt(debt_key)
        return {
            "key": debt.key,
            "status": debt.status,
            "collateral_constituted": debt.collateral_constituted,
            "averbacao_attempts": debt.averbacao_attempts,
            "disbursement_attempts": debt.disbursement_attempts,
            "pending_action": debt.pending_action,
            "installment": str(debt.installment),
            "requester_identifier_key": debt.request.requester_identifier_key,
            "documents_attached_to": debt.documents_party,
            "accounts": [
                {"bank_code": a.bank_code, "percentage": str(a.percentage_receivable)}
                for a in debt.request.disbursement_bank_accounts
            ],
            "rebates": len(debt.request.financial.rebates or []),
            "refinanced": list(debt.refinanced),
            "minimum_wage_increase": debt.minimum_wage_increase,
        }

    @app.get("/_sandbox/debts")
    async def debts_by_requester(
        requester_identifier_key: str | None = None, document_number: str | None = None
    ) -> list[str]:
        """The keys of the debts issued for a requester key, or for a CPF (a test counts duplicates)."""
        return [
            d.key
            for d in peek(sandbox.debts)
            if (requester_identifier_key is None or d.request.requester_identifier_key == requester_identifier_key)
            and (document_number is None or d.cpf == document_number)
        ]

    @app.post("/_sandbox/debts/{debt_key}/expire_window")
    async def expire(debt_key: str) -> dict[str, Any]:
        debt = sandbox.debt(debt_key)
        expired = await sandbox.expire_windows(at=debt.window_end)
        return {"expired": expired}

    return app
