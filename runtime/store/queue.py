"""What the store's two queues share (the webhook inbox and the sales channel's outbox): inserting on
either database, waking the process that LISTENs, and leasing due rows to one reader at a time.

A queue table has an ``id``, an ``attempts`` count and a ``next_attempt_at``; a leased row's next
attempt is pushed to the lease's end, so a reader that dies with a lease leaves its rows to be read
again when it runs out (at least once).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, Table, bindparam, make_url, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def dialect_insert(engine: AsyncEngine) -> Callable[[Table], Any]:
    """The engine's ``INSERT`` with ``ON CONFLICT`` (PostgreSQL's or SQLite's)."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


async def notify(connection: AsyncConnection, channel: str) -> None:
    """Wake the LISTENers of ``channel`` when the transaction commits (PostgreSQL; SQLite readers see the
    commit itself, ``sqlite_commits``)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


@contextlib.asynccontextmanager
async def sqlite_commits(url: str, wakes: Iterable[asyncio.Event], *, every: float) -> AsyncIterator[None]:
    """SQLite's stand-in for LISTEN: every ``every`` seconds, ask the file whether another connection
    committed since the last look (``PRAGMA data_version``, made for exactly this) and, if one did, set
    each of ``wakes``. The readers then query their queues only when something changed (and at their
    idle timeout, for rows that fall due or whose lease ran out), instead of every poll: an idle relay
    polling its two queues every 50 ms spent 7 % of a core. The question is answered from SQLite's
    shared WAL index in microseconds, on the event loop, without a lock."""
    wanted = list(wakes)
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError(f"{url!r}: the relay's SQLite store must be a file its writers share")
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False, timeout=0)

    def version() -> int | None:
        try:
            row = connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:  # busy in a checkpoint, say: treated as a change (a query too many)
            return None
        return int(row[0])

    async def watch() -> None:
        seen = version()
        while True:
            await asyncio.sleep(every)
            now = version()
            if now is None or now != seen:
                seen = now
                for wake in wanted:
                    wake.set()

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        connection.close()


class Lease:
    """Leasing the rows ``query`` selects from ``table``, oldest (lowest ``id``) first: one
    ``UPDATE ... RETURNING`` pushes their next attempt to the lease's end and hands them back (others
    skip them: ``SKIP LOCKED`` on PostgreSQL, the database's write lock, which the statement takes
    before it reads, on SQLite). Every statement is built once: a reader that leases many times a
    second otherwise rebuilt and re-keyed each for SQLAlchemy's compiled cache on every pass, and
    sent three (lock, select, mark) where one does.

    ``query`` orders by ``table.c.id`` and takes its changing values as bind parameters (given to
    ``__call__``), never as literals, so it stays the same statement. ``returning``: what comes back
    of each row when ``query`` selects columns of other tables (a ``RETURNING`` names only the updated
    table's, so another table's value comes as a correlated scalar subquery); by default
    ``query``'s own columns."""

    def __init__(
        self, engine: AsyncEngine, query: Select[Any], table: Table, *, returning: Sequence[Any] | None = None
    ) -> None:
        self._engine = engine
        self._postgresql = engine.dialect.name == "postgresql"
        self._probe = query.limit(1)
        due = query.with_only_columns(table.c.id)
        if self._postgresql:
            due = due.with_for_update(of=table, skip_locked=True)
        self._lease = (
            update(table)
            .where(table.c.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=bindparam("lease_until"))
            .returning(*(returning if returning is not None else query.selected_columns))
        )
        self._found = False  # the last lease found rows

    async def __call__(self, parameters: dict[str, Any], *, until: datetime) -> list[Row[Any]]:
        """The rows, leased until ``until``. A short transaction: nothing is held while the reader
        delivers them."""
        if not self._postgresql and not self._found:
            # SQLite: a reader that polls an empty queue must not take the one write lock each time
            # (the gateway's commits would queue behind it); a read in WAL mode blocks no writer. While
            # leases find rows (a backlog) the look is skipped: the lease itself says whether there
            # are more, and an idle queue is looked at again before the lock is taken.
            async with self._engine.connect() as connection:
                if (await connection.execute(self._probe, parameters)).first() is None:
                    return []
        async with self._engine.begin() as connection:
            rows = (await connection.execute(self._lease, {**parameters, "lease_until": until})).all()
        self._found = bool(rows)
        # A RETURNING's order is the database's: oldest first, as the query orders them.
        return sorted(rows, key=lambda row: int(row.id))


async def update_row(connection: AsyncConnection, table: Table, row_id: int, **values: Any) -> None:
    """Set ``values`` on one row of a queue (by its ``id``)."""
    await connection.execute(update(table).where(table.c.id == row_id).values(**values))


async def retry_later(
    connection: AsyncConnection, table: Table, row_id: int, attempts: int, at: datetime, **reason: str
) -> None:
    """One more failed attempt on a row: due again ``at``, why kept for operators (its one column,
    cut to 500 characters)."""
    why = {column: text[:500] for column, text in reason.items()}
    await update_row(connection, table, row_id, attempts=attempts + 1, next_attempt_at=at, **why)


def backoff(retry: timedelta, attempts: int, ceiling: timedelta) -> timedelta:
    """How long a row waits after ``attempts`` failed ones: ``retry`` doubled each time, at most ``ceiling``."""
    doubled: timedelta = retry * (2 ** min(attempts, 20))
    return min(doubled, ceiling)


def operator_commands(
    prog: str, doc: str, *, statuses: Sequence[str], counts: str
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """An operators' command line over a queue: ``counts`` and ``list --status S [--limit N]`` (the
    one chosen in ``command``); the queue's own commands are added to the commands returned."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("counts", help=counts)
    listing = commands.add_parser("list", help="events of one status")
    listing.add_argument("--status", choices=statuses, required=True)
    listing.add_argument("--limit", type=int, default=100)
    return parser, commands
