"""The store's schema is what its migrations build: upgrading an empty database leaves nothing for
Alembic's autogenerate to add, on SQLite and on PostgreSQL; running them again changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runtime.store.db import DatabaseSettings
from runtime.store.migrate import upgrade
from runtime.store.schema import metadata
from tests.support.postgres import running_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'runtime.store.db'}"
        return
    with running_postgres() as url:
        yield url


def differences(url: str) -> list[Any]:
    async def compare() -> list[Any]:
        engine = DatabaseSettings(url=url).engine()
        async with engine.connect() as connection:
            found: list[Any] = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        await engine.dispose()
        return found

    return asyncio.run(compare())


def test_the_migrations_build_exactly_the_schema(database_url: str) -> None:
    upgrade(DatabaseSettings(url=database_url))
    assert differences(database_url) == []
    upgrade(DatabaseSettings(url=database_url))  # again: a no-op
    assert differences(database_url) == []


def test_the_migration_job_creates_a_missing_postgres_database() -> None:
    from sqlalchemy import make_url

    from runtime.store.migrate import create_database

    with running_postgres() as url:
        fresh = make_url(url).set(database="consignado_fresh").render_as_string(hide_password=False)
        settings = DatabaseSettings(url=fresh)
        assert asyncio.run(create_database(settings)) is True
        assert asyncio.run(create_database(settings)) is False  # already there
        upgrade(settings)
        assert differences(fresh) == []
