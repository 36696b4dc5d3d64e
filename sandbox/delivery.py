"""Webhook delivery as the provider does it: asynchronous HTTP POSTs, signed, retried until a 2xx.

Fault switches shape it: duplicates, newest-first order, failed attempts, delivery before the
HTTP answer that created the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from provider.webhook_signature import signed_headers
from provider.wire import encode

from .scenarios import Faults

log = logging.getLogger(__name__)

OUT_OF_ORDER_WINDOW_SECONDS = 0.3


@dataclass
class Delivery:
    id: int
    key: str
    webhook_type: str
    status: str
    body: bytes
    failures_to_inject: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    delivered_at: float | None = None
    last_outcome: str = "pending"
    created_at: float = field(default_factory=time.time)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "webhook_type": self.webhook_type,
            "status": self.status,
            "attempts": self.attempts,
            "delivered": self.delivered_at is not None,
            "last_outcome": self.last_outcome,
        }


class WebhookDispatcher:
    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        http: httpx.AsyncClient | None = None,
        first_backoff: float = 0.2,
        max_backoff: float = 10.0,
    ) -> None:
        self.url = url
        self._secret = secret
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, list[Delivery]] = {}
        self.deliveries: list[Delivery] = []

    def _new(self, key: str, payload: dict[str, Any], faults: Faults, headers: dict[str, str]) -> Delivery:
        inner = payload.get("webhook", payload)
        delivery = Delivery(
            id=next(self._ids),
            key=key,
            webhook_type=str(inner.get("webhook_type", "debt")),
            status=str(inner.get("status", "")),
            body=encode(payload),
            failures_to_inject=faults.webhook_delivery_failures,
            headers=headers,
        )
        self.deliveries.append(delivery)
        return delivery

    def _spawn(self, delivery: Delivery, delay: float = 0.0) -> None:
        task = asyncio.create_task(self._run(delivery, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def submit(
        self,
        key: str,
        payload: dict[str, Any],
        faults: Faults,
        *,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Queue a webhook; with ``webhook_before_response`` the first attempt happens before returning."""
        copies = [self._new(key, payload, faults, headers or {}) for _ in range(2 if faults.duplicate_webhooks else 1)]
        if faults.out_of_order_webhooks:
            held = self._held.setdefault(key, [])
            held.extend(copies)
            if len(held) == len(copies):  # first of a burst: flush the burst newest first, later
                self._spawn_flush(key, delay)
            return copies[0]
        for copy in copies:
            if faults.webhook_before_response and delay == 0:
                await self._attempt(copy)
                if copy.delivered_at is None:
                    self._spawn(copy, self._first_backoff)
            else:
                self._spawn(copy, delay)
        return copies[0]

    def _spawn_flush(self, key: str, delay: float) -> None:
        async def flush() -> None:
            await asyncio.sleep(delay + OUT_OF_ORDER_WINDOW_SECONDS)
            for delivery in reversed(self._held.pop(key, [])):
                await self._run(delivery, 0.0)

        task = asyncio.create_task(flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        if delivery.failures_to_inject > 0:
            delivery.failures_to_inject -= 1
            delivery.last_outcome = "injected failure"
            return
        headers = {
            "Content-Type": "application/json",
            **delivery.headers,
            **signed_headers(delivery.body, self._secret),
        }
        try:
            response = await self._http.post(self.url, content=delivery.body, headers=headers)
        except httpx.HTTPError as error:
            delivery.last_outcome = f"transport error: {type(error).__name__}"
            return
        delivery.last_outcome = f"HTTP {response.status_code}"
        if 200 <= response.status_code < 300:
            delivery.delivered_at = time.time()

    async def _run(self, delivery: Delivery, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        backoff = self._first_backoff
        while delivery.delivered_at is None:
            await self._attempt(delivery)
            if delivery.delivered_at is None:
                log.info("webhook %s attempt %d failed: %s", delivery.id, delivery.attempts, delivery.last_outcome)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    def pending(self) -> int:
        return sum(1 for d in self.deliveries if d.delivered_at is None)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.aclose()
