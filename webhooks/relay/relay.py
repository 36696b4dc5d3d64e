"""Delivering the inbox to the loans.

One pass leases a batch of pending events whose key has a route (a short transaction), signals each
to its loan, and marks them (another short one). A relay that dies between the two leaves its events
pending; when the lease runs out they are delivered again (at least once; the loan applies each event
once, by identity). No database lock is held while Temporal is called. A loan that has
ended gets nothing: its events are marked late, visible. When Temporal refuses a signal the event is
retried later with back-off and the pass stops (the others will meet the same Temporal).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opentelemetry import propagate, trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.qitech.models.webhooks import ReceivedWebhook, WebhookRejected, parse_webhook_bytes
from activities.qitech.news import translate
from runtime.store.queue import backoff, keep_reading
from webhooks.inbox.arrival import NOTE_LENGTH, outside_text
from webhooks.inbox.sealing import Opener, SealingError
from webhooks.inbox.store import DELIVERED, LATE, PARKED, Deliverable, Inbox
from workflows.loan.contract import PROVIDER_EVENT_SIGNAL
from workflows.loan.news import ProviderNews

log = logging.getLogger("relay")
tracer = trace.get_tracer("relay")

SIGNAL_TIMEOUT = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=1)
LEASE = timedelta(minutes=2)
"""How long a pass holds the events it claimed: longer than a batch's signals can take."""


@dataclass
class RelayMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.delivered = Counter("relay_events_delivered", "Events signalled to their loan", registry=self.registry)
        self.late = Counter("relay_events_late", "Events whose loan had ended", registry=self.registry)
        self.parked = Counter("relay_events_parked", "Events the relay could not read", registry=self.registry)
        self.refused = Counter("relay_signals_refused", "Signals Temporal refused (retried)", registry=self.registry)
        self.latency = Histogram(
            "relay_receipt_to_delivery_seconds",
            "From the gateway storing a webhook to its loan having it",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600),
            registry=self.registry,
        )
        self.inbox = Gauge("inbox_events", "Stored webhooks by status", ["status"], registry=self.registry)


Signal = Callable[[str, ProviderNews], Awaitable[None]]


def temporal_signal(client: Client) -> Signal:
    async def signal(loan_id: str, event: ProviderNews) -> None:
        await client.get_workflow_handle(loan_id).signal(PROVIDER_EVENT_SIGNAL, event, rpc_timeout=SIGNAL_TIMEOUT)

    return signal


class Relay:
    def __init__(
        self,
        inbox: Inbox,
        opener: Opener,
        signal: Signal,
        *,
        batch_size: int = 50,
        retry: timedelta = timedelta(seconds=2),
        lease: timedelta = LEASE,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self.inbox = inbox
        self._opener = opener
        self._signal = signal
        self._batch_size = batch_size
        self._retry = retry
        self._lease = lease
        self.metrics = metrics or RelayMetrics()

    async def deliver_once(self) -> int:
        """One pass; how many events it settled (delivered, late or parked).

        Each loan's events go in order, one after the other; different loans' go at the same time
        (signals to different workflows are independent), so a pass costs the slowest loan's
        signals, not the sum of all of them. A loan whose signal Temporal refuses stops there: that
        event is retried after a back-off and its later ones are released for the next pass."""
        events = await self.inbox.claim(self._batch_size, lease=self._lease)
        by_loan: dict[str, list[Deliverable]] = {}
        for event in events:
            by_loan.setdefault(event.loan_id, []).append(event)
        outcomes = await asyncio.gather(*(self._deliver_in_order(group) for group in by_loan.values()))
        settled = [item for done, _, _ in outcomes for item in done]
        retry = [item for _, refused, _ in outcomes for item in refused]
        release = [event for _, _, untried in outcomes for event in untried]
        await self.inbox.settle(settled, retry=retry, release=release)
        return len(settled)

    async def _deliver_in_order(
        self, events: list[Deliverable]
    ) -> tuple[list[tuple[Deliverable, str, str | None]], list[tuple[Deliverable, timedelta, str]], list[Deliverable]]:
        settled: list[tuple[Deliverable, str, str | None]] = []
        for index, event in enumerate(events):
            outcome = await self._deliver(event)
            if outcome is None:
                later = backoff(self._retry, event.attempts, MAX_BACKOFF)
                return settled, [(event, later, "Temporal refused the signal")], events[index + 1 :]
            settled.append((event, *outcome))
        return settled, [], []

    async def _deliver(self, event: Deliverable) -> tuple[str, str | None] | None:
        try:
            webhook, _ = parse_webhook_bytes(self._opener.open(event.sealed_body))
        except (SealingError, WebhookRejected) as unreadable:
            self.metrics.parked.inc()
            return PARKED, outside_text(f"the relay cannot read it: {unreadable}", NOTE_LENGTH)
        # The webhook in the loan's words (the provider's adapter, at its edge): only what the loan reads.
        delivery = translate(ReceivedWebhook(event_id=event.event_id, received_at=event.received_at, webhook=webhook))
        # The delivery continues the trace the webhook arrived with (the signal's span is its child).
        context = propagate.extract({"traceparent": event.trace_context}) if event.trace_context else None
        try:
            with tracer.start_as_current_span("relay deliver", context=context):
                await self._signal(event.loan_id, delivery)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # the loan has ended (or never was)
                self.metrics.late.inc()
                return LATE, "its loan had ended"
            self.metrics.refused.inc()
            log.warning("Temporal refused a delivery (%s); retried later", error.status.name)
            return None
        self.metrics.delivered.inc()
        self.metrics.latency.observe((datetime.now(UTC) - event.received_at).total_seconds())
        return DELIVERED, None

    async def keep_tidy(self, *, unrouted_retention: timedelta, body_retention: timedelta) -> None:
        expired = await self.inbox.expire_unrouted(unrouted_retention)
        if expired:
            log.warning(
                "%d webhook(s) expired unrouted: no loan claimed their key (python -m webhooks.relay.inbox)", expired
            )
        await self.inbox.purge_bodies(body_retention)
        for status, count in (await self.inbox.counts()).items():
            self.metrics.inbox.labels(status=status).set(count)

    async def run(
        self,
        stop: asyncio.Event,
        wake: asyncio.Event,
        *,
        idle: float,
        unrouted_retention: timedelta,
        body_retention: timedelta,
    ) -> None:
        """Deliver until ``stop``; sleep at most ``idle`` seconds between passes, less when ``wake``
        (a PostgreSQL notification) says there is work."""

        async def more() -> bool:  # a full batch: there may be more at once
            return await self.deliver_once() >= self._batch_size

        async def tidy() -> None:
            await self.keep_tidy(unrouted_retention=unrouted_retention, body_retention=body_retention)

        await keep_reading(more, tidy, stop=stop, wake=wake, idle=idle, chores_every=60, log=log, reader="relay")
