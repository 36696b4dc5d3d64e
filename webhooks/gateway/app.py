"""``POST /webhooks/{provider}`` → read (bounded) → verify → store in the inbox (sealed) → acknowledge.

The provider gets its 200 (and, under its published protocol, our signed acknowledgement) only once
the event is committed in the inbox; if the database cannot take it the answer is 503 and the
provider retries. Webhooks arriving together share one commit, each answered only after it.
Nothing here talks to Temporal or holds a codec key: the relay delivers the inbox to the loans
(webhooks/gateway/DESIGN/md). A webhook we cannot route (unknown type, no key, a field that
does not parse) is stored too, parked for an operator, and acknowledged: the manuals say payloads
grow, and a refused event would be lost after the provider's three retries.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry import propagate
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from activities.qitech import webhook_v2
from activities.qitech.webhook_signature import HmacVerifier, SignatureRejected, WebhookVerifier
from activities.wire import TooDeep
from runtime.bodies import BodyTooLarge, read_capped
from runtime.store.db import DatabaseSettings
from runtime.telemetry import ServerSpan, instrument_app
from webhooks.gateway.metrics import GatewayMetrics
from webhooks.gateway.settings import GatewaySettings, SignatureScheme
from webhooks.inbox.arrival import PENDING, read_arrival
from webhooks.inbox.group_commit import GroupCommit
from webhooks.inbox.sealing import Sealer
from webhooks.inbox.store import Inbox, Incoming

log = logging.getLogger("gateway")


WEBHOOK_PATH = "/webhooks/{provider}"


class _WebhookEndpoint:
    """An ASGI app (Starlette calls it with the route's scope) around a ``Request -> Response`` handler."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


_WEBHOOK_OPERATION: dict[str, Any] = {
    "post": {
        "summary": "Receive a provider's webhook",
        "description": "The raw body as the provider signed it: verified, stored sealed in the inbox, then "
        "acknowledged (webhook-v2: a signed acknowledgement). 401 unsigned or wrongly signed, 404 unknown "
        "provider, 413 too large, 400 nested too deep, 503 the inbox could not store it (retry).",
        "operationId": "receive_webhooks__provider__post",
        "parameters": [
            {"name": "provider", "in": "path", "required": True, "schema": {"type": "string", "title": "Provider"}}
        ],
        "responses": {"200": {"description": "Stored (or already stored)", "content": {"application/json": {}}}},
    }
}


def _document_webhook_route(app: FastAPI) -> None:
    """The plain-ASGI webhook route in the app's OpenAPI document, beside the FastAPI routes."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = {WEBHOOK_PATH: _WEBHOOK_OPERATION, **schema.get("paths", {})}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _answer(http_status: int, **body: Any) -> JSONResponse:
    return JSONResponse(status_code=http_status, content=body)


def verifier_for(settings: GatewaySettings) -> WebhookVerifier:
    if settings.signature_scheme == SignatureScheme.HMAC:
        return HmacVerifier(settings.secrets(), tolerance_seconds=settings.signature_tolerance_seconds)
    keys = settings.public_keys()
    if not keys:
        raise ValueError("GATEWAY_PROVIDER_PUBLIC_KEYS is not set: webhooks could not be verified")
    return webhook_v2.WebhookV2Verifier(keys, api_client_key=settings.api_client_key or None)


def create_app(
    settings: GatewaySettings | None = None,
    database: DatabaseSettings | None = None,
    *,
    inbox: Inbox | None = None,
    verifier: WebhookVerifier | None = None,
    metrics: GatewayMetrics | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    # Fail closed: a gateway that could not verify, seal or answer as the provider requires must not start.
    if not settings.inbox_public_key:
        raise ValueError("GATEWAY_INBOX_PUBLIC_KEY is not set: webhook bodies could not be sealed")
    if settings.signature_scheme == SignatureScheme.WEBHOOK_V2 and not settings.signing_key.get_secret_value():
        raise ValueError("GATEWAY_SIGNING_KEY is not set: the provider's acknowledgement could not be signed")
    verifier = verifier or verifier_for(settings)
    metrics = metrics or GatewayMetrics()
    sealer = Sealer(settings.inbox_public_key)
    providers = settings.provider_names()
    v2 = settings.signature_scheme == SignatureScheme.WEBHOOK_V2
    holder: dict[str, GroupCommit] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Concurrent webhooks share a commit (webhooks/inbox/group_commit.py): each still answered after it.
        holder["writer"] = writer = GroupCommit(inbox or Inbox((database or DatabaseSettings()).engine()))
        yield
        await writer.close()
        if inbox is None:
            await writer.inbox.engine.dispose()

    app = FastAPI(title="Webhook gateway", lifespan=lifespan)
    app.state.metrics = metrics
    # Each webhook's server span continues the trace the provider's delivery carries (traceparent).
    instrument_app(app, spanned_apart=["/webhooks/"])  # its own lean span: ServerSpan below

    def reject(status: int, reason: str, message: str) -> JSONResponse:
        metrics.rejected.labels(reason=reason).inc()
        log.warning("webhook rejected: %s (%s)", reason, message)
        return _answer(status, error="rejected", reason=reason, message=message)

    def acknowledge(path: str, receipt: dict[str, Any]) -> Response:
        if not v2:
            return _answer(200, **receipt)
        body, headers = webhook_v2.acknowledgement(
            receipt,
            uri=path,
            private_key=settings.signing_key.get_secret_value(),
            api_client_key=settings.api_client_key,
        )
        return Response(content=body, status_code=200, headers=headers, media_type="application/json")

    async def receive(request: Request) -> Response:
        started = time.perf_counter()
        metrics.received.inc()
        provider = request.path_params["provider"]
        if provider not in providers:
            return reject(404, "unknown_provider", f"no webhook endpoint for provider {provider[:40]!r}")
        try:
            body = await read_capped(request, settings.max_body_bytes)
        except BodyTooLarge:
            return reject(413, "too_large", f"the body is over {settings.max_body_bytes} bytes")
        path = request.url.path
        try:
            verifier.verify(body, request.headers, method=request.method, uri=path)
        except SignatureRejected as refused:
            return reject(401, refused.reason, "missing, stale or wrong signature")
        try:
            arrival = read_arrival(body, max_depth=settings.max_json_depth)
        except TooDeep as deep:
            # Checked before any parsing: no provider body nests this deep, and a retry would not help.
            return reject(400, "too_deep", str(deep))
        try:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)  # this request's span, child of the provider's traceparent
            incoming = Incoming(arrival, sealer.seal(body), provider, datetime.now(UTC), carrier.get("traceparent"))
            stored = await holder["writer"].put(incoming)
        except Exception as error:
            return reject(503, "inbox_unavailable", f"could not store the webhook ({type(error).__name__}); retry")
        elapsed = time.perf_counter() - started
        metrics.latency.observe(elapsed)
        outcome = "stored" if stored else "duplicate"
        if arrival.status != PENDING:
            outcome = "parked" if stored else outcome
            metrics.parked.labels(reason=(arrival.note or "?").split(":", 1)[0]).inc()
            log.warning("webhook parked for an operator: %s", arrival.note)
        # A label only from a type we parsed: a parked body's type is the sender's text (and unbounded).
        label = arrival.webhook_type if arrival.status == PENDING and arrival.webhook_type else "unknown"
        metrics.accepted.labels(webhook_type=label, outcome=outcome).inc()
        receipt: dict[str, Any] = {"status": outcome, "event_id": arrival.event_id}
        if arrival.note:
            receipt["note"] = arrival.note
        answer = acknowledge(path, receipt)
        answer.headers["Server-Timing"] = f"store;dur={elapsed * 1000:.2f}"
        return answer

    # The hot path as a plain ASGI endpoint: FastAPI's per-request machinery (dependency solving, the
    # endpoint's own wrappers) was a tenth of the gateway's CPU and this route uses none of it: it reads
    # the raw body (it must verify the exact bytes signed) and answers a signed body of its own.
    endpoint = ServerSpan(_WebhookEndpoint(receive), WEBHOOK_PATH)
    app.router.routes.insert(0, Route(WEBHOOK_PATH, endpoint, methods=["POST"], name="receive"))
    _document_webhook_route(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        try:
            async with holder["writer"].inbox.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return _answer(503, status="inbox_unreachable")
        return _answer(200, status="ready")

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
