"""``POST /webhooks/{provider}`` → verify → parse → signal the key's mailbox → 2xx.

2xx means Temporal has the event durably; anything else means the provider must try again (503)
or must not (4xx: the request itself is wrong, and it is counted and logged without its body).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.client import Client

from domain.calendar import SAO_PAULO
from provider.models.webhooks import ReceivedWebhook, WebhookRejected, parse_webhook_bytes
from provider.webhook_signature import HmacVerifier, SignatureRejected, WebhookVerifier
from runtime.settings import TemporalSettings
from runtime.telemetry import instrument_app
from runtime.temporal import connect

from .metrics import GatewayMetrics
from .routing import MailboxRouter
from .settings import GatewaySettings

log = logging.getLogger("gateway")

MAX_BODY_BYTES = 1_000_000


def _answer(http_status: int, **body: Any) -> JSONResponse:
    return JSONResponse(status_code=http_status, content=body)


def create_app(
    settings: GatewaySettings | None = None,
    temporal: TemporalSettings | None = None,
    *,
    client: Client | None = None,
    verifier: WebhookVerifier | None = None,
    metrics: GatewayMetrics | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    temporal = temporal or TemporalSettings()
    verifier = verifier or HmacVerifier(settings.secrets(), tolerance_seconds=settings.signature_tolerance_seconds)
    metrics = metrics or GatewayMetrics()
    providers = settings.provider_names()
    holder: dict[str, MailboxRouter] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Lazy: the gateway starts (and answers 503) even while Temporal is down.
        temporal_client = client or await connect(temporal, lazy=True, fail_fast=True, identity="webhook-gateway")
        holder["router"] = MailboxRouter(
            temporal_client, temporal.task_queue, settings.unclaimed_retention, settings.late_retention
        )
        yield

    app = FastAPI(title="Webhook gateway", lifespan=lifespan)
    app.state.metrics = metrics
    # Each webhook's server span continues the trace the provider's delivery carries (traceparent),
    # and the Temporal call inside it carries the trace on to the mailbox and the loan.
    instrument_app(app)

    def reject(status: int, reason: str, message: str, **context: Any) -> JSONResponse:
        metrics.rejected.labels(reason=reason).inc()
        log.warning("webhook rejected: %s (%s) %s", reason, message, context or "")
        return _answer(status, error="rejected", reason=reason, message=message)

    @app.post("/webhooks/{provider}")
    async def receive(provider: str, request: Request) -> Response:
        started = time.perf_counter()
        metrics.received.inc()
        if provider not in providers:
            return reject(404, "unknown_provider", f"no webhook endpoint for provider {provider[:40]!r}")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return reject(413, "too_large", f"body has {len(body)} bytes, more than {MAX_BODY_BYTES}")
        try:
            verifier.verify(body, request.headers)
        except SignatureRejected as refused:
            return reject(401, refused.reason, "missing, stale or wrong signature")
        try:
            webhook, event_id = parse_webhook_bytes(body)
        except WebhookRejected as invalid:
            return reject(422 if invalid.reason == "invalid_field" else 400, invalid.reason, str(invalid))
        event = ReceivedWebhook(
            event_id=event_id,
            received_at=datetime.now(SAO_PAULO),
            webhook=webhook,
        )
        try:
            await holder["router"].deliver(event)
        except Exception as error:
            return reject(
                503, "temporal_unavailable", "could not hand the webhook to Temporal; retry", error=type(error).__name__
            )
        elapsed = time.perf_counter() - started
        metrics.latency.observe(elapsed)
        metrics.accepted.labels(webhook_type=str(webhook.webhook_type)).inc()
        log.info(
            "webhook accepted: %s %s key=%s event=%s in %.1f ms",
            webhook.webhook_type,
            getattr(webhook, "status", ""),
            event.key,
            event_id[:12],
            elapsed * 1000,
        )
        answer = _answer(200, status="accepted", event_id=event_id)
        answer.headers["Server-Timing"] = f"accept;dur={elapsed * 1000:.2f}"
        return answer

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        router = holder.get("router")
        if router is not None and await router.ready():
            return _answer(200, status="ready")
        return _answer(503, status="temporal_unreachable")

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
