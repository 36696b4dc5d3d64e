"""Delivering the inbox to the loans.

One pass leases a batch of pending events whose key has a route (a short transaction), signals each
to its loan, and marks them (another short one). A relay that dies between the two leaves its events
pending; when the lease runs out they are delivered again (at least once; the loan applies each event
once, by identity). No database lock is held while Temporal is called. A loan that has
ended gets nothing: its events are marked late, visible. When Temporal refuses a signal the event is
retried later with back-off and the pass stops (the others will meet the same Temporal).

Passes overlap while there is a backlog (``run``): the next batch is claimed while the last one's
signals are in flight, at most ``concurrency`` signals in flight in all. A loan's events stay in
order across passes: a later pass's events for a loan wait for that loan's earlier ones.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opentelemetry import propagate, trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.qitech.models.webhooks import ReceivedWebhook, WebhookRejected, parse_webhook_body
from activities.qitech.news import translate
from runtime.store.queue import backoff
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
# A loan's delivery chain in one pass: (settled, refused with its back-off, not tried).
_Outcome = tuple[list[tuple[Deliverable, str, str | None]], list[tuple[Deliverable, timedelta, str]], list[Deliverable]]


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
        concurrency: int = 64,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self.inbox = inbox
        self._opener = opener
        self._signal = signal
        self._batch_size = batch_size
        self._retry = retry
        self._lease = lease
        self._concurrency = max(1, concurrency)
        self._in_flight = asyncio.Semaphore(self._concurrency)
        # Each loan's last delivery chain still running (from this pass or an earlier one): a later
        # pass's events for that loan start after it, so a loan's events go in arrival order.
        self._chains: dict[str, asyncio.Task[_Outcome]] = {}
        self.metrics = metrics or RelayMetrics()

    async def deliver_once(self) -> int:
        """One pass; how many events it settled (delivered, late or parked).

        Each loan's events go in order, one after the other; different loans' go at the same time
        (signals to different workflows are independent; at most ``concurrency`` at once), so a pass
        costs the slowest loan's signals, not the sum of all of them. A loan whose signal Temporal
        refuses stops there: that event is retried after a back-off and its later ones are released
        for the next pass."""
        return await self._pass(await self.inbox.claim(self._batch_size, lease=self._lease))

    async def _pass(self, events: list[Deliverable]) -> int:
        by_loan: dict[str, list[Deliverable]] = {}
        for event in events:
            by_loan.setdefault(event.loan_id, []).append(event)
        chains = []
        for loan_id, group in by_loan.items():
            chain = asyncio.create_task(self._deliver_in_order(group, after=self._chains.get(loan_id)))
            self._chains[loan_id] = chain
            chain.add_done_callback(functools.partial(self._forget, loan_id))
            chains.append(chain)
        outcomes = await asyncio.gather(*chains)
        settled = [item for done, _, _ in outcomes for item in done]
        retry = [item for _, refused, _ in outcomes for item in refused]
        release = [event for _, _, untried in outcomes for event in untried]
        await self.inbox.settle(settled, retry=retry, release=release)
        return len(settled)

    def _forget(self, loan_id: str, chain: asyncio.Task[_Outcome]) -> None:
        if self._chains.get(loan_id) is chain:
            del self._chains[loan_id]

    async def _deliver_in_order(self, events: list[Deliverable], *, after: asyncio.Task[_Outcome] | None) -> _Outcome:
        if after is not None:
            # The loan's earlier events (an overlapping pass) first; if Temporal refused one of them,
            # these wait for the next pass too, behind it.
            try:
                _, refused, _ = await asyncio.shield(after)
            except Exception:
                return [], [], events  # that pass failed: do not overtake its events
            if refused:
                return [], [], events
        settled: list[tuple[Deliverable, str, str | None]] = []
        for index, event in enumerate(events):
            async with self._in_flight:
                outcome = await self._deliver(event)
            if outcome is None:
                later = backoff(self._retry, event.attempts, MAX_BACKOFF)
                return settled, [(event, later, "Temporal refused the signal")], events[index + 1 :]
            settled.append((event, *outcome))
        return settled, [], []

    async def _deliver(self, event: Deliverable) -> tuple[str, str | None] | None:
        try:
            webhook = parse_webhook_body(self._opener.open(event.sealed_body))
        except (SealingError, WebhookRejected) as unreadable:
            self.metrics.parked.inc()
            return PARKED, outside_text(f"the relay cannot read it: {unreadable}", NOTE_LENGTH)
        # The webhook in the loan's words (the provider's adapter, at its edge): only what the loan reads.
        # Constructed, not validated again: each field is already its type (the webhook just parsed, the
        # identity and the aware receipt time from the inbox row).
        received = ReceivedWebhook.model_construct(
            event_id=event.event_id, received_at=event.received_at, webhook=webhook
        )
        delivery = translate(received)
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
        (a PostgreSQL notification) says there is work. While a claim comes back full (a backlog) the
        next batch is claimed at once, beside the passes still signalling (as many as ``concurrency``
        signals fill, at least one); on ``stop`` the passes in flight finish and settle."""
        tidied = 0.0
        loop = asyncio.get_running_loop()
        passes: set[asyncio.Task[int]] = set()
        most = max(1, -(-self._concurrency // self._batch_size))

        def finished(task: asyncio.Task[int]) -> None:
            passes.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("relay pass failed; trying again", exc_info=task.exception())

        while not stop.is_set():
            # Cleared before the claim: a notification during the pass wakes the next one at once.
            wake.clear()
            backlog = False
            try:
                events = await self.inbox.claim(self._batch_size, lease=self._lease)
                if events:
                    task = asyncio.create_task(self._pass(events))
                    passes.add(task)
                    task.add_done_callback(finished)
                backlog = len(events) >= self._batch_size
                if loop.time() - tidied > 60:
                    await self.keep_tidy(unrouted_retention=unrouted_retention, body_retention=body_retention)
                    tidied = loop.time()
            except Exception:
                log.exception("relay pass failed; trying again")
            if backlog:
                if len(passes) >= most:
                    await asyncio.wait(set(passes), return_when=asyncio.FIRST_COMPLETED)
                continue
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        await asyncio.gather(*passes, return_exceptions=True)
