"""The provider token every worker process shares, in the store (seed 000: one token per
environment at a time, used until it expires, a new one only after it expires or is revoked).

Single flight across processes: renewal runs in one transaction that first writes the
environment's row, which locks it (a row lock on PostgreSQL, the database's write lock on SQLite),
so every other process wanting to renew waits, then finds the fresh token and uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.qitech.client import IssuedToken
from runtime.store.schema import provider_tokens


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite keeps no time zone: everything stored here is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class SqlTokenStore:
    def __init__(self, engine: AsyncEngine, environment: str) -> None:
        self._engine = engine
        self._environment = environment

    async def load(self) -> IssuedToken | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(provider_tokens.c.token, provider_tokens.c.expires_at).where(
                        provider_tokens.c.environment == self._environment
                    )
                )
            ).first()
        if row is None or row.token is None or row.expires_at is None:
            return None
        expires_at = _aware(row.expires_at)
        assert expires_at is not None
        return IssuedToken(value=row.token, expires_at=expires_at)

    async def renew(
        self, issue: Callable[[IssuedToken | None], Awaitable[IssuedToken]], *, stale: str | None
    ) -> IssuedToken:
        table, now = provider_tokens, datetime.now(UTC)
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(table).values(environment=self._environment, updated_at=now).on_conflict_do_nothing()
            )
            # The write takes the lock; everyone else renewing waits here until we commit.
            await connection.execute(
                update(table).where(table.c.environment == self._environment).values(updated_at=now)
            )
            row = (
                await connection.execute(
                    select(table.c.token, table.c.expires_at).where(table.c.environment == self._environment)
                )
            ).one()
            expires_at = _aware(row.expires_at)
            held = IssuedToken(row.token, expires_at) if row.token and expires_at else None
            if held is not None and held.usable(now=datetime.now(UTC), stale=stale):
                return held  # another process renewed it while we waited
            fresh = await issue(held)
            await connection.execute(
                update(table)
                .where(table.c.environment == self._environment)
                .values(token=fresh.value, expires_at=fresh.expires_at, updated_at=datetime.now(UTC))
            )
            return fresh
