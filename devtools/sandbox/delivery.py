"""Webhook delivery as the provider publishes it: asynchronous signed POSTs, an answer expected within
its timeout, three retries five minutes apart, then the callback is *failed* — until someone asks
for it again through the resend API (docs.qitech.com.br: webhooks/notificacoes_baas_e_laas,
siape/webhooks, notificacoes/reenvio_de_notificacoes).

Under the published protocol ("Webhook v2") each POST carries an ES512-signed JWT, and only an
HTTP 200 whose ``encoded_body`` and headers verify with the lender's public key counts as received.
Fault switches shape deliveries: duplicates, newest-first order, failed attempts, delivery before
the HTTP answer that created the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import httpx

from devtools.sandbox.clock import CLOCK
from devtools.sandbox.journal import Durable, peek
from devtools.sandbox.scenarios import Faults
from devtools.sandbox.signing import NotAcknowledged, Signing
from devtools.sandbox.timers import IN_TIMER
from devtools.sandbox.wire import encode

log = logging.getLogger(__name__)

OUT_OF_ORDER_WINDOW_SECONDS = 0.3
SETTLEMENT = {"sent": 0, "pending": 1, "failed": 2}
"""How far a copy of an event got (the resend API lists an event by its copy that got furthest)."""


@dataclass(frozen=True)
class DeliveryPolicy:
    retries: int = 3
    retry_seconds: float = 300.0
    timeout_seconds: float = 5.0


@dataclass
class Delivery:
    id: int
    event_key: str
    key: str
    webhook_type: str
    status: str
    body: bytes
    failures_to_inject: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    delivered_at: float | None = None
    failed: bool = False  # the provider gave up: only the resend API brings it back
    last_outcome: str = "pending"
    created_at: float = field(default_factory=time.time)
    callback_key: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def callback_status(self) -> str:
        return "sent" if self.delivered_at is not None else ("failed" if self.failed else "pending")

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_key": self.event_key,
            "key": self.key,
            "webhook_type": self.webhook_type,
            "status": self.status,
            "attempts": self.attempts,
            "delivered": self.delivered_at is not None,
            "callback_status": self.callback_status,
            "last_outcome": self.last_outcome,
        }


class WebhookDispatcher(Durable):
    """Every delivery is an entry (by id) of the sandbox's journal; ``before_send`` commits it, with
    whatever caused it, before each attempt leaves, so a restarted sandbox sends what it had not
    settled again as the same event, and never mints a new event for one it already sent."""

    DURABLE_KEYED = ("deliveries",)
    DURABLE_SINGLE = ("_next_id",)

    def __init__(
        self,
        url: str,
        signing: Signing,
        *,
        policy: DeliveryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self._path = urlparse(url).path or "/"
        self._signing = signing
        self.policy = policy or DeliveryPolicy()
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(self.policy.timeout_seconds))
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, list[Delivery]] = {}
        self.deliveries: dict[int, Delivery] = {}  # by id, in the order they were made
        # Set by the persistence: commit before an attempt leaves, and once a delivery settled.
        self.before_send: Callable[[], Any] = lambda: None
        self.on_settled: Callable[[], Any] = lambda: None
        self.unit: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    # ------------------------------------------------------------ after a restart (sandbox.persistence)

    def resume(self) -> int:
        """Send again each delivery the journal gave back neither delivered nor given up (same event_key
        and body: the receiver deduplicates); those held for the out-of-order fault go now. Returns how
        many are sent again."""
        self._held = {}
        unsettled = [d for d in peek(self.deliveries) if d.delivered_at is None and not d.failed]
        for delivery in unsettled:
            self._spawn(delivery)
        return len(unsettled)

    def _changed(self, delivery: Delivery) -> None:
        """A delivery is reached by reference (a task holds it), not through the dict: say it changed."""
        touch = getattr(self.deliveries, "touch", None)
        if touch is not None:
            touch(delivery.id)

    def _new(self, key: str, payload: dict[str, Any], faults: Faults, headers: dict[str, str]) -> Delivery:
        inner = payload.get("webhook", payload)
        # The provider's own identity of the event (its resend API names events by event_key): a
        # retry carries the same one; two events never do, even when their bodies are otherwise alike.
        event_key = str(uuid.uuid4())
        body = {**payload, "event_key": event_key}
        return self._track(
            Delivery(
                id=self._new_id(),
                event_key=event_key,
                key=key,
                webhook_type=str(inner.get("webhook_type", "debt")),
                status=str(inner.get("status", "")),
                body=encode(body),
                failures_to_inject=faults.webhook_delivery_failures,
                headers=headers,
            )
        )

    def _track(self, delivery: Delivery) -> Delivery:
        self.deliveries[delivery.id] = delivery
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
        first = self._new(key, payload, faults, headers or {})
        # A duplicate delivery is the *same* event sent twice (same event_key and body).
        copies = [first] + ([self._track(_copy(first, self._new_id()))] if faults.duplicate_webhooks else [])
        if faults.out_of_order_webhooks:
            held = self._held.setdefault(key, [])
            held.extend(copies)
            if len(held) == len(copies):  # first of a burst: flush the burst newest first, later
                self._spawn_flush(key, delay)
            return first
        # Before the response of the HTTP call that caused it — a timer has no response: its webhook
        # goes from a task of its own, as any other. (Sent inline, its write-ahead commit would record
        # the timer as run while the timer's next one, scheduled after the send, was not yet: a sandbox
        # killed during the send lost the rest of the debt's flow.)
        inline = faults.webhook_before_response and delay == 0 and not IN_TIMER.get()
        for copy in copies:
            if inline:
                await self._attempt(copy)
                if copy.delivered_at is None:
                    self._spawn(copy, self.policy.retry_seconds)
            else:
                self._spawn(copy, delay)
        return first

    def _spawn_flush(self, key: str, delay: float) -> None:
        async def flush() -> None:
            await asyncio.sleep(delay + OUT_OF_ORDER_WINDOW_SECONDS)
            for delivery in reversed(self._held.pop(key, [])):
                await self._run(delivery, 0.0)

        task = asyncio.create_task(flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            await self._attempt_once(delivery)
        finally:
            self._changed(delivery)

    async def _attempt_once(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        self._changed(delivery)
        if delivery.failures_to_inject > 0:
            delivery.failures_to_inject -= 1
            delivery.last_outcome = "injected failure"
            return
        signature = self._signing.headers(delivery.body, uri=self._path, now=CLOCK.wall())
        headers = {"Content-Type": "application/json", **delivery.headers, **signature}
        # Written ahead: this event, and whatever made it, are in the state file before anyone sees it.
        self.before_send()
        try:
            response = await self._http.post(self.url, content=delivery.body, headers=headers)
        except httpx.HTTPError as error:
            delivery.last_outcome = f"transport error: {type(error).__name__}"
            return
        delivery.last_outcome = f"HTTP {response.status_code}"
        if not self._signing.accepted(response.status_code):
            return
        try:
            self._signing.check_acknowledgement(response.content, response.headers, uri=self._path, now=CLOCK.wall())
        except NotAcknowledged as bad:
            delivery.last_outcome = f"HTTP {response.status_code} without a valid acknowledgement ({bad.reason})"
            return
        delivery.delivered_at = time.time()

    async def _run(self, delivery: Delivery, delay: float) -> None:
        # A unit of work of its own: not the one of the request or timer that queued it (whose
        # entries its commits would otherwise check again, each time).
        with self.unit():
            await self._run_unit(delivery, delay)

    async def _run_unit(self, delivery: Delivery, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self._attempt(delivery)
        for _ in range(self.policy.retries):
            if delivery.delivered_at is not None:
                break
            log.info("webhook %s attempt %d failed: %s", delivery.id, delivery.attempts, delivery.last_outcome)
            await asyncio.sleep(self.policy.retry_seconds)
            await self._attempt(delivery)
        if delivery.delivered_at is None:
            delivery.failed = True  # three retries and the provider gives up
            self._changed(delivery)
            log.warning(
                "webhook %s given up after %d attempts: %s", delivery.id, delivery.attempts, delivery.last_outcome
            )
        self.on_settled()

    # ------------------------------------------------------------ the resend API's side

    def events(
        self, *, callback_status: str | None, origin_key: str | None, start: datetime, end: datetime
    ) -> list[Delivery]:
        first: dict[str, Delivery] = {}
        for delivery in peek(self.deliveries):  # one event per event_key (a duplicate is the same event)
            # ... delivered once any copy was, failed only once every copy was given up.
            held = first.setdefault(delivery.event_key, delivery)
            if SETTLEMENT[delivery.callback_status] < SETTLEMENT[held.callback_status]:
                first[delivery.event_key] = delivery
        return [
            d
            for d in first.values()
            if (callback_status is None or d.callback_status == callback_status)
            and (origin_key is None or d.key == origin_key)
            and start.timestamp() <= d.created_at <= end.timestamp()
        ]

    def resend(self, event_key: str, callback_key: str) -> Delivery | None:
        """The callback sent again, every copy of it (a duplicated event's copy would otherwise stay
        given up while the event it copies is delivered; the receiver takes the event once)."""
        found = [d for d in peek(self.deliveries) if d.event_key == event_key and d.callback_key == callback_key]
        for delivery in found:
            delivery.failed, delivery.delivered_at = False, None
            self._changed(delivery)
            self._spawn(delivery)
        return found[0] if found else None

    def pending(self) -> int:
        return sum(1 for d in peek(self.deliveries) if d.delivered_at is None and not d.failed)

    def listed(self) -> list[Delivery]:
        """Every delivery, oldest first (a read: nothing changes)."""
        return list(peek(self.deliveries))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.aclose()


def _copy(delivery: Delivery, new_id: int) -> Delivery:
    return Delivery(
        id=new_id,
        event_key=delivery.event_key,
        key=delivery.key,
        webhook_type=delivery.webhook_type,
        status=delivery.status,
        body=delivery.body,
        failures_to_inject=delivery.failures_to_inject,
        headers=dict(delivery.headers),
        callback_key=delivery.callback_key,
    )
