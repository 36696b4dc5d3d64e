"""The inbox's data: events in (the gateway), key routes in (the loans' activities), deliverable
events out (the relay), and what operators look at (unrouted, parked, late).

Delivery joins events and routes *when it reads*: an event whose key has no route yet simply stays
pending, and the first relay pass after its route is written delivers it — whichever of the two
commits first (webhooks/gateway/DESIGN/md has the argument).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.store.db import aware, utc_now
from runtime.store.queue import Lease, dialect_insert, notify, retry_later
from runtime.store.schema import key_routes, webhook_events
from webhooks.inbox.arrival import PENDING, Arrival

DELIVERED, LATE, PARKED, EXPIRED = "delivered", "late", "parked", "expired"
CHANNEL = "webhook_inbox"
"""PostgreSQL NOTIFY channel: a new event or a new route (the relay LISTENs; on SQLite it watches the
file for commits, runtime.store.queue.sqlite_commits)."""


_SETTLE = (
    update(webhook_events)
    .where(webhook_events.c.id == bindparam("row"))
    .values(
        status=bindparam("to"),
        note=bindparam("why"),
        loan_id=bindparam("loan"),
        delivered_at=bindparam("at"),
        next_attempt_at=None,
        attempts=bindparam("tries"),
    )
)
"""A relay pass's settled event: its status (delivered, late, parked), and when."""

_DELIVERABLE = (
    select(
        webhook_events.c.id,
        webhook_events.c.event_id,
        webhook_events.c.received_at,
        webhook_events.c.sealed_body,
        webhook_events.c.attempts,
        webhook_events.c.trace_context,
        key_routes.c.loan_id,
    )
    .join(key_routes, key_routes.c.provider_key == webhook_events.c.route_key)
    .where(
        webhook_events.c.status == PENDING,
        or_(webhook_events.c.next_attempt_at.is_(None), webhook_events.c.next_attempt_at <= bindparam("now")),
    )
    .order_by(webhook_events.c.id)
    .limit(bindparam("limit"))
)
"""Pending events whose route exists and whose next attempt is due (at ``now``), oldest first, at
most ``limit``: built once, the clock and the batch size its parameters."""

_DELIVERABLE_RETURNED = (
    *(column for column in _DELIVERABLE.selected_columns if column.table is webhook_events),
    select(key_routes.c.loan_id)
    .where(key_routes.c.provider_key == webhook_events.c.route_key)
    .scalar_subquery()
    .label("loan_id"),
)
"""What a lease hands back of each event: the same, its loan read beside it (the route the claim joined:
a key's route never changes once written)."""

_RELEASE = (
    update(webhook_events)
    .where(webhook_events.c.id.in_(bindparam("rows", expanding=True)))
    .values(next_attempt_at=None)
)
"""A pass's events not tried (behind a refused one): due again at once."""


@dataclass(frozen=True)
class Deliverable:
    id: int
    event_id: str
    received_at: datetime
    sealed_body: bytes
    loan_id: str
    attempts: int
    trace_context: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A verified webhook on its way into the inbox (its body already sealed)."""

    arrival: Arrival
    sealed_body: bytes
    provider: str
    received_at: datetime
    trace_context: str | None = None


class Inbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = dialect_insert(engine)
        self._put_statement = (
            self._insert(webhook_events)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(webhook_events.c.event_id)
        )
        self._lease = Lease(engine, _DELIVERABLE, webhook_events, returning=_DELIVERABLE_RETURNED)

    # ------------------------------------------------------------ the gateway

    async def put(
        self,
        arrival: Arrival,
        sealed_body: bytes,
        *,
        provider: str,
        received_at: datetime,
        trace_context: str | None = None,
    ) -> bool:
        """Store a verified webhook; False when the same event is already there (a duplicate: no-op).
        Returns only once the row is committed: the gateway answers the provider after this."""
        incoming = Incoming(arrival, sealed_body, provider, received_at, trace_context)
        return (await self.put_many([incoming]))[0]

    async def put_many(self, batch: Sequence[Incoming]) -> list[bool]:
        """Store several verified webhooks in one transaction (the gateway's group commit): for each,
        in order, True if this call stored it, False if its event was already there — in the inbox,
        or earlier in ``batch`` (the first of an event's copies is stored, the others are duplicates).
        Returns only once the transaction is committed; if it raises, none of ``batch`` is stored."""
        first: dict[str, Incoming] = {}
        for incoming in batch:
            first.setdefault(incoming.arrival.event_id, incoming)
        if not first:
            return []
        rows = [
            {
                "event_id": incoming.arrival.event_id,
                "provider": incoming.provider,
                "received_at": incoming.received_at,
                "webhook_type": incoming.arrival.webhook_type,
                "route_key": incoming.arrival.route_key,
                "status": incoming.arrival.status,
                "note": incoming.arrival.note,
                "sealed_body": incoming.sealed_body,
                "attempts": 0,
                "trace_context": incoming.trace_context,
            }
            for incoming in first.values()
        ]
        async with self.engine.begin() as connection:
            # The rows as parameters of one cached statement (SQLAlchemy sends them as one multi-row
            # INSERT, "insertmanyvalues"); rows in the statement itself would compile it anew for every
            # batch. The rows it inserted come back; an event already stored conflicts and does not.
            result = await connection.execute(self._put_statement, rows)
            inserted = set(result.scalars().all())
            if any(first[event_id].arrival.status == PENDING for event_id in inserted):
                await notify(connection, CHANNEL)
        return [
            incoming.arrival.event_id in inserted and first[incoming.arrival.event_id] is incoming for incoming in batch
        ]

    # ------------------------------------------------------------ the loans' activities

    async def route(self, provider_key: str, loan_id: str) -> str:
        """The key is this loan's (idempotent). Returns the loan the key belongs to: the first claim
        stands, a second loan claiming the same key is refused by the caller."""
        async with self.engine.begin() as connection:
            await connection.execute(
                self._insert(key_routes)
                .values(provider_key=provider_key, loan_id=loan_id, created_at=utc_now())
                .on_conflict_do_nothing(index_elements=["provider_key"])
            )
            owner: str = (
                await connection.execute(select(key_routes.c.loan_id).where(key_routes.c.provider_key == provider_key))
            ).scalar_one()
            await notify(connection, CHANNEL)
        return owner

    async def release(self, provider_keys: Sequence[str], loan_id: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(key_routes)
                .where(key_routes.c.provider_key.in_(list(provider_keys)), key_routes.c.loan_id == loan_id)
                .values(released_at=utc_now())
            )

    # ------------------------------------------------------------ the relay

    async def claim(self, limit: int, *, lease: timedelta) -> list[Deliverable]:
        """Pending events whose route exists and whose next attempt is due, oldest first, leased to
        this relay for ``lease`` (others skip them). A short transaction: nothing is held while the
        relay talks to Temporal, so a slow or absent Temporal never slows the gateway's inserts. A
        relay that dies with a lease leaves its events to be delivered again when it runs out."""
        now = utc_now()
        rows = await self._lease({"now": now, "limit": limit}, until=now + lease)
        return [Deliverable(**{**row._mapping, "received_at": aware(row.received_at) or now}) for row in rows]

    async def settle(
        self,
        settled: Sequence[tuple[Deliverable, str, str | None]],
        *,
        retry: Sequence[tuple[Deliverable, timedelta, str]] = (),
        release: Sequence[Deliverable] = (),
    ) -> None:
        """One transaction for a relay pass's outcome: each settled event's status (delivered, late,
        parked), the ones Temporal refused retried after a back-off, the ones not tried released."""
        now = utc_now()
        async with self.engine.begin() as connection:
            if settled:
                # One cached statement, the pass's events as its parameters (one round trip), not a
                # statement built, keyed and sent per event.
                await connection.execute(
                    _SETTLE,
                    [
                        {"row": e.id, "to": status, "why": note, "loan": e.loan_id, "at": now, "tries": e.attempts + 1}
                        for e, status, note in settled
                    ],
                )
            for event, delay, note in retry:
                await retry_later(connection, webhook_events, event.id, event.attempts, now + delay, note=note)
            if release:
                await connection.execute(_RELEASE, {"rows": [event.id for event in release]})

    # ------------------------------------------------------------ retention and operators

    async def expire_unrouted(self, older_than: timedelta) -> int:
        """Pending events whose key no loan claimed in time: kept, marked, visible (never deleted)."""
        routed = select(key_routes.c.provider_key).where(key_routes.c.provider_key == webhook_events.c.route_key)
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(webhook_events)
                .where(
                    webhook_events.c.status == PENDING,
                    webhook_events.c.received_at < utc_now() - older_than,
                    ~routed.exists(),
                )
                .values(status=EXPIRED, note="no loan claimed its key within the retention")
            )
        return int(result.rowcount or 0)

    async def purge_bodies(self, older_than: timedelta) -> int:
        """Drop the sealed bodies of delivered or late events past retention (their metadata stays)."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(webhook_events)
                .where(
                    webhook_events.c.status.in_([DELIVERED, LATE]),
                    webhook_events.c.delivered_at < utc_now() - older_than,
                    webhook_events.c.sealed_body.is_not(None),
                )
                .values(sealed_body=None)
            )
        return int(result.rowcount or 0)

    async def counts(self) -> dict[str, int]:
        """Events by status, and pending events without a route (unrouted) apart."""
        routed = select(key_routes.c.provider_key).where(key_routes.c.provider_key == webhook_events.c.route_key)
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(webhook_events.c.status, func.count()).group_by(webhook_events.c.status)
                )
            ).all()
            unrouted = (
                await connection.execute(
                    select(func.count()).where(and_(webhook_events.c.status == PENDING, ~routed.exists()))
                )
            ).scalar_one()
        found = {str(status): int(count) for status, count in rows}
        found["unrouted"] = int(unrouted)
        return found

    async def listing(self, status: str, *, limit: int = 100) -> list[dict[str, object]]:
        """What an operator sees of stored events (no body: the gateway's key cannot open it anyway)."""
        columns = webhook_events.c
        query = select(
            columns.id.label("ref"),
            columns.event_id,
            columns.provider,
            columns.received_at,
            columns.webhook_type,
            columns.route_key,
            columns.status,
            columns.note,
            columns.attempts,
            columns.loan_id,
        )
        if status == "unrouted":  # pending, and no loan has claimed its key (yet)
            routed = select(key_routes.c.provider_key).where(key_routes.c.provider_key == columns.route_key)
            query = query.where(columns.status == PENDING, ~routed.exists())
        else:
            query = query.where(columns.status == status)
        query = query.order_by(columns.id).limit(limit)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [dict(row) for row in rows]
