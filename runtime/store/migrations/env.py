"""Alembic's environment: our async engine (from DatabaseSettings), our metadata."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from runtime.store.db import DatabaseSettings
from runtime.store.schema import metadata

settings: DatabaseSettings = context.config.attributes.get("database") or DatabaseSettings()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = settings.engine()
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


asyncio.run(_online())
