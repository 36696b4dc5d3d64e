"""The sales channel's outbox: loan events in (the loans' local activity), the next event of each loan
out (the notifier), and what operators look at (queued, the oldest queued, failing).

In order per loan: a loan's event is deliverable only while no earlier event of the same loan is still
queued, so one loan's events go one after the other (an event held back by a failing receiver holds
its loan's later events with it), while different loans' go side by side. A loan records its events
oldest first, each batch in one transaction, so a later event is never in the outbox without the
earlier ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.store.db import aware, utc_now
from runtime.store.queue import Lease, dialect_insert, notify, retry_later
from runtime.store.schema import sales_channel_events
from workflows.loan.loan_events import LoanEvent

QUEUED, DELIVERED = "queued", "delivered"
STATUSES = (QUEUED, DELIVERED)
CHANNEL = "sales_channel_outbox"
"""PostgreSQL NOTIFY channel: new events (the notifier LISTENs; on SQLite it polls)."""


@dataclass(frozen=True)
class Queued:
    """An event claimed for delivery: its body is what gets signed and sent (each field the column of
    the same name)."""

    id: int
    event_id: str
    request_key: str
    sequence: int
    body: str
    attempts: int


def _next_of_each_loan() -> Select[Any]:
    events, earlier = sales_channel_events, sales_channel_events.alias("earlier")
    still_queued_before = (
        select(earlier.c.id)
        .where(
            earlier.c.request_key == events.c.request_key,
            earlier.c.status == QUEUED,
            earlier.c.sequence < events.c.sequence,
        )
        .exists()
    )
    return (
        select(*(events.c[field.name] for field in fields(Queued)))
        .where(
            events.c.status == QUEUED,
            or_(events.c.next_attempt_at.is_(None), events.c.next_attempt_at <= bindparam("now")),
            ~still_queued_before,
        )
        .order_by(events.c.id)
        .limit(bindparam("limit"))
    )


_NEXT_OF_EACH_LOAN = _next_of_each_loan()
"""Each loan's first queued event, when its next attempt is due (at ``now``), oldest first, at most
``limit``: built once, the clock and the batch size its parameters."""

_DELIVERED = (
    update(sales_channel_events)
    .where(sales_channel_events.c.id == bindparam("row"))
    .values(
        status=DELIVERED,
        delivered_at=bindparam("at"),
        next_attempt_at=None,
        attempts=bindparam("tries"),
        last_error=None,
    )
)
"""A pass's delivered event: done, and when."""


class Outbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = dialect_insert(engine)
        self._lease = Lease(engine, _NEXT_OF_EACH_LOAN, sales_channel_events)

    # ------------------------------------------------------------ the loans' activity

    async def put(self, events: Sequence[LoanEvent]) -> int:
        """Queue a loan's events (one transaction, in order); an event already there is left as it is
        (the same batch recorded again by a retried activity). Returns how many were new."""
        if not events:
            return 0
        now = utc_now()
        rows = [
            {
                "event_id": event.event_id,
                "request_key": event.request_key,
                "sequence": event.sequence,
                "event_type": event.type.value,
                "body": json.dumps(event.payload(), separators=(",", ":"), sort_keys=True),
                "occurred_at": event.occurred_at,
                "recorded_at": now,
                "status": QUEUED,
                "attempts": 0,
            }
            for event in events
        ]
        added = 0
        async with self.engine.begin() as connection:
            for row in rows:
                statement = self._insert(sales_channel_events).values(**row)
                result = await connection.execute(statement.on_conflict_do_nothing(index_elements=["event_id"]))
                added += result.rowcount
            if added:
                await notify(connection, CHANNEL)
        return added

    # ------------------------------------------------------------ the notifier

    async def claim(self, limit: int, *, lease: timedelta) -> list[Queued]:
        """Each loan's first queued event, when its next attempt is due, oldest first, leased to this
        notifier for ``lease`` (others skip them: ``SKIP LOCKED`` on PostgreSQL, the database's write
        lock on SQLite). A short transaction: nothing is held while the receiver is called. A notifier
        that dies with a lease leaves its events to be sent again when it runs out (at least once)."""
        now = utc_now()
        rows = await self._lease({"now": now, "limit": limit}, until=now + lease)
        return [Queued(**row._mapping) for row in rows]

    async def settle(self, delivered: Sequence[Queued], failed: Sequence[tuple[Queued, timedelta, str]] = ()) -> None:
        """One transaction for a pass's outcome: delivered events done; failed ones queued again after
        their back-off, the reason kept for operators."""
        now = utc_now()
        async with self.engine.begin() as connection:
            if delivered:
                # One cached statement, the pass's events as its parameters (one round trip).
                await connection.execute(
                    _DELIVERED, [{"row": event.id, "at": now, "tries": event.attempts + 1} for event in delivered]
                )
            for event, delay, error in failed:
                await retry_later(
                    connection, sales_channel_events, event.id, event.attempts, now + delay, last_error=error
                )

    # ------------------------------------------------------------ operators

    async def counts(self) -> dict[str, int]:
        """Events by status; ``failing``: queued events whose delivery failed at least once."""
        columns = sales_channel_events.c
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(columns.status, func.count()).group_by(columns.status))).all()
            failing = (
                await connection.execute(
                    select(func.count()).where(and_(columns.status == QUEUED, columns.attempts > 0))
                )
            ).scalar_one()
        found = {status: 0 for status in STATUSES}
        found.update({str(status): int(count) for status, count in rows})
        found["failing"] = int(failing)
        return found

    async def oldest_queued(self) -> dict[str, object] | None:
        """The event that has waited longest: how long the sales channel has been behind, and why."""
        rows = await self.listing(QUEUED, limit=1)
        return rows[0] if rows else None

    async def listing(self, status: str, *, limit: int = 100) -> list[dict[str, object]]:
        """What an operator sees of stored events, oldest first (the body holds no personal data, but
        the listing keeps to what finds the loan and says where its delivery stands)."""
        columns = sales_channel_events.c
        query = (
            select(
                columns.event_id,
                columns.request_key,
                columns.sequence,
                columns.event_type,
                columns.occurred_at,
                columns.status,
                columns.attempts,
                columns.next_attempt_at,
                columns.delivered_at,
                columns.last_error,
            )
            .where(columns.status == status)
            .order_by(columns.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        found = []
        for row in rows:
            entry = dict(row)
            for moment in ("occurred_at", "next_attempt_at", "delivered_at"):
                entry[moment] = aware(entry[moment])
            found.append(entry)
        return found

    async def retry_now(self) -> int:
        """Every queued event due at once (after the receiver is fixed): the back-off is forgotten."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(sales_channel_events).where(sales_channel_events.c.status == QUEUED).values(next_attempt_at=None)
            )
            await notify(connection, CHANNEL)
        return int(result.rowcount or 0)
