"""Connecting to the store: PostgreSQL (asyncpg) in production, SQLite (aiosqlite) embedded; the
schema is brought up to date by Alembic (``python -m store.migrate``, run by the set-up job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite+aiosqlite:///data/consignado.db"


class DatabaseSettings(BaseSettings):
    """``DATABASE_URL``: ``postgresql+asyncpg://user@host/db`` (the password apart, in
    ``DATABASE_PASSWORD``) or ``sqlite+aiosqlite:///path``."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_")

    url: str = DEFAULT_URL
    password: SecretStr | None = None
    pool_size: int = 10

    def engine(self) -> AsyncEngine:
        return create_engine(self.url, password=self.password, pool_size=self.pool_size)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, password: SecretStr | None = None, pool_size: int = 10) -> AsyncEngine:
    options: dict[str, Any] = {}
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One file shared by several processes: wait for a lock instead of failing at once.
        options["connect_args"] = {"timeout": 30}
    else:
        options["pool_size"] = pool_size
        options["pool_pre_ping"] = True
        if password is not None:
            options["connect_args"] = {"password": password.get_secret_value()}
    engine = create_async_engine(url, **options)
    if is_sqlite(url):
        _sqlite_pragmas(engine)
    return engine


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        # WAL: readers never block the writer; several processes share the file safely.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
