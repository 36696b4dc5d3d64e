"""Delivering the outbox to the lender's sales channel: each event POSTed to ``SALES_CHANNEL_URL``,
signed the Standard Webhooks way (``webhook-id`` = the event's idempotency key, ``webhook-timestamp``,
``webhook-signature``: HMAC-SHA256 over ``id.timestamp.body`` with ``SALES_CHANNEL_SECRET``).

At least once, in order per loan: a pass claims each loan's next event (``Outbox.claim``), posts them
side by side (one per loan), and settles them. A 2xx answer delivers the event; anything else — a
refusal, a timeout, a receiver out of reach — keeps it queued, retried after a back-off that doubles
up to ``SALES_CHANNEL_MAX_BACKOFF_SECONDS``, and never given up: an unreachable receiver leaves the
events queued and visible to operators (``python -m webhooks.outbound``, the relay's metrics). The
loans never wait for any of it: they only wrote to the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge
from standardwebhooks import Webhook

from runtime.store.queue import backoff
from webhooks.outbound.outbox import DELIVERED, QUEUED, Outbox, Queued

log = logging.getLogger("sales_channel")

LEASE = timedelta(minutes=2)
"""How long a pass holds the events it claimed: longer than a delivery's timeout."""


@dataclass
class NotifierMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.deliveries = Counter(
            "sales_channel_deliveries",
            "Attempts to deliver a loan event to the sales channel, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.events = Gauge(
            "sales_channel_events", "Loan events in the outbox by status", ["status"], registry=self.registry
        )
        self.oldest = Gauge(
            "sales_channel_oldest_queued_seconds",
            "How long the oldest queued loan event has waited (0 when none)",
            registry=self.registry,
        )


class Notifier:
    def __init__(
        self,
        outbox: Outbox,
        url: str,
        signer: Webhook,
        client: httpx.AsyncClient,
        *,
        batch_size: int = 50,
        retry: timedelta = timedelta(seconds=5),
        max_backoff: timedelta = timedelta(minutes=10),
        lease: timedelta = LEASE,
        metrics: NotifierMetrics | None = None,
    ) -> None:
        self.outbox = outbox
        self._url = url
        self._signer = signer
        self._client = client
        self._batch_size = batch_size
        self._retry = retry
        self._max_backoff = max_backoff
        self._lease = lease
        self.metrics = metrics or NotifierMetrics()

    def headers(self, event_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
        """The Standard Webhooks headers for one attempt (signed anew each time: the receiver checks
        the timestamp's freshness)."""
        moment = now or datetime.now(UTC)
        return {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": self._signer.sign(event_id, moment, body),
        }

    async def deliver_once(self) -> int:
        """One pass: each claimed loan's next event, posted at once; how many were delivered."""
        events = await self.outbox.claim(self._batch_size, lease=self._lease)
        if not events:
            return 0
        outcomes = await asyncio.gather(*(self._deliver(event) for event in events))
        delivered = [event for event, error in zip(events, outcomes, strict=True) if error is None]
        failed = [
            (event, self._backoff(event), error)
            for event, error in zip(events, outcomes, strict=True)
            if error is not None
        ]
        await self.outbox.settle(delivered, failed)
        return len(delivered)

    def _backoff(self, event: Queued) -> timedelta:
        return backoff(self._retry, event.attempts, self._max_backoff)

    async def _deliver(self, event: Queued) -> str | None:
        """None when the receiver took it; otherwise why not (kept on the event for operators)."""
        try:
            answer = await self._client.post(
                self._url, content=event.body.encode(), headers=self.headers(event.event_id, event.body)
            )
        except httpx.HTTPError as error:
            self.metrics.deliveries.labels(outcome="unreachable").inc()
            log.warning("sales channel out of reach (%s); event %s stays queued", type(error).__name__, event.event_id)
            return f"unreachable: {type(error).__name__}"
        if answer.is_success:
            self.metrics.deliveries.labels(outcome="delivered").inc()
            return None
        self.metrics.deliveries.labels(outcome="refused").inc()
        log.warning("sales channel answered %d to event %s; retried later", answer.status_code, event.event_id)
        return f"refused: HTTP {answer.status_code}"

    async def observe(self) -> None:
        """The outbox's figures for the metrics: how many queued, how long the oldest has waited."""
        counts = await self.outbox.counts()
        for status in (QUEUED, DELIVERED, "failing"):
            self.metrics.events.labels(status=status).set(counts.get(status, 0))
        oldest = await self.outbox.oldest_queued()
        occurred = oldest["occurred_at"] if oldest else None
        waited = (datetime.now(UTC) - occurred).total_seconds() if isinstance(occurred, datetime) else 0.0
        self.metrics.oldest.set(max(waited, 0.0))

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, *, idle: float) -> None:
        """Deliver until ``stop``; sleep at most ``idle`` seconds between passes, less when ``wake``
        (a PostgreSQL notification) says there is work."""
        observed = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            wake.clear()  # before the pass: a notification during it wakes the next one at once
            try:
                delivered = await self.deliver_once()
                if loop.time() - observed > 30:
                    await self.observe()
                    observed = loop.time()
            except Exception:
                log.exception("sales channel pass failed; trying again")
                delivered = 0
            if delivered:
                continue  # each pass moves every loan one event on: go on while there is work
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
