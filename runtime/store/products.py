"""Providers' product tables, cached in the store: written by the refresh job, read by the loans'
activities. Kept as the provider answered it (text), parsed by the adapter that reads it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.store.queue import dialect_insert
from runtime.store.schema import provider_products


class ProductTables:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = dialect_insert(engine)

    async def save(self, provider: str, body: str) -> None:
        now = datetime.now(UTC)
        statement = self._insert(provider_products).values(provider=provider, body=body, fetched_at=now)
        statement = statement.on_conflict_do_update(index_elements=["provider"], set_={"body": body, "fetched_at": now})
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def load(self, provider: str) -> tuple[str, datetime] | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(provider_products.c.body, provider_products.c.fetched_at).where(
                        provider_products.c.provider == provider
                    )
                )
            ).first()
        if row is None:
            return None
        fetched = row.fetched_at if row.fetched_at.tzinfo else row.fetched_at.replace(tzinfo=UTC)
        return row.body, fetched
