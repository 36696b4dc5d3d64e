"""Our store on both databases the queues run on (SQLite embedded, a real PostgreSQL): the inbox,
its key routes and the sales channel's outbox, migrated as the store migration does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import delete

from runtime.store.db import DatabaseSettings, create_engine
from runtime.store.migrate import upgrade
from runtime.store.schema import key_routes, sales_channel_events, webhook_events
from tests.support.postgres import running_postgres


def migrate(url: str) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:  # Alembic runs its own event loop
        pool.submit(upgrade, DatabaseSettings(url=url)).result()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty store on either database (PostgreSQL: the module's cluster, emptied for each test)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
        engine = create_engine(url)
        async with engine.begin() as connection:
            for table in (webhook_events, key_routes, sales_channel_events):
                await connection.execute(delete(table))
        await engine.dispose()
    yield url
