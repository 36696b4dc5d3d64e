"""``python -m runtime.store.migrate``: bring the store's schema up to date (Alembic), idempotently. The run
command and the set-up job run it before any process uses the store."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import make_url, text

from runtime.store.db import DatabaseSettings, is_sqlite

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger("runtime.store.migrate")


def alembic_config(settings: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database"] = settings
    return config


def upgrade(settings: DatabaseSettings | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings or DatabaseSettings()), revision)


async def create_database(settings: DatabaseSettings) -> bool:
    """PostgreSQL: create the URL's database when the server lacks it (a compose stack's fresh server;
    a managed PostgreSQL is provisioned with it). True when it created it."""
    url = make_url(settings.url)
    if is_sqlite(settings.url) or not url.database:
        return False
    server = DatabaseSettings(
        url=url.set(database="postgres").render_as_string(hide_password=False), password=settings.password
    )
    engine = server.engine()
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # CREATE DATABASE: no transaction
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            if await connection.scalar(query, {"name": url.database}):
                return False
            await connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
            return True
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.store.migrate", description=__doc__)
    parser.add_argument("--revision", default="head")
    parser.add_argument("--create-database", action="store_true", help="PostgreSQL: create the database if missing")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s store.migrate %(levelname)s: %(message)s")
    settings = DatabaseSettings()
    if options.create_database and asyncio.run(create_database(settings)):
        log.info("created the database of %s", make_url(settings.url).render_as_string())
    upgrade(settings, options.revision)
    log.info("store schema at %s", options.revision)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
