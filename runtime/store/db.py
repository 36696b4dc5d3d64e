"""Connecting to the store: PostgreSQL (asyncpg) in production, SQLite (aiosqlite) embedded; the
schema is brought up to date by Alembic (``python -m runtime.store.migrate``, run by the set-up job)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from runtime.settings import is_development, refuse_in_production, secret_problems

DEFAULT_URL = "sqlite+aiosqlite:///data/consignado.db"

log = logging.getLogger("store")


class DatabaseSettings(BaseSettings):
    """``DATABASE_URL``: ``postgresql+asyncpg://user@host/db`` (the password apart, in
    ``DATABASE_PASSWORD``) or ``sqlite+aiosqlite:///path``.

    In production an unset ``DATABASE_URL`` is refused: the embedded default would give each
    container a private SQLite file, so a gateway would acknowledge webhooks into an inbox no relay
    reads, and each worker would ask the provider for its own token. A SQLite URL given on purpose
    (one host, one shared file) is accepted with a warning.
    """

    # hide_input_in_errors: a refusal's message must not print the password.
    model_config = SettingsConfigDict(env_prefix="DATABASE_", hide_input_in_errors=True)

    url: str = DEFAULT_URL
    password: SecretStr | None = None
    pool_size: int = 10
    # SQLite only. NORMAL (with WAL): a commit survives the crash of any process, not a power loss or
    # an OS crash (the last commits before it may roll back; the file stays consistent). FULL also
    # survives those, at an fsync per commit (the gateway's group commit shares one among the webhooks
    # committed together). Production runs PostgreSQL, whose commits are durable.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # SQLite only: how long a writer waits for the file's one write lock before it gives up (the
    # gateway then answers 503 and the provider retries).
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        problems = secret_problems({"DATABASE_PASSWORD": self.password}, optional={"DATABASE_PASSWORD"})
        if "url" not in self.model_fields_set:
            problems.insert(0, "DATABASE_URL is not set (the embedded SQLite default is for development only)")
        elif is_sqlite(self.url) and not is_development():
            log.warning("DATABASE_URL is SQLite in production: only processes sharing its file see one store")
        refuse_in_production(problems)
        return self

    def engine(self) -> AsyncEngine:
        return create_engine(
            self.url,
            password=self.password,
            pool_size=self.pool_size,
            sqlite_synchronous=self.sqlite_synchronous,
            sqlite_busy_timeout_seconds=self.sqlite_busy_timeout_seconds,
        )


@asynccontextmanager
async def store_engine() -> AsyncIterator[AsyncEngine]:
    """The store's engine from the environment (``DATABASE_*``), disposed when a command is done."""
    engine = DatabaseSettings().engine()
    try:
        yield engine
    finally:
        await engine.dispose()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(
    url: str,
    *,
    password: SecretStr | None = None,
    pool_size: int = 10,
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    sqlite_busy_timeout_seconds: float = 30.0,
) -> AsyncEngine:
    options: dict[str, Any] = {}
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One file shared by several processes: wait for a lock instead of failing at once.
        options["connect_args"] = {"timeout": sqlite_busy_timeout_seconds}
    else:
        options["pool_size"] = pool_size
        options["pool_pre_ping"] = True
        if password is not None:
            options["connect_args"] = {"password": password.get_secret_value()}
    engine = create_async_engine(url, **options)
    if is_sqlite(url):
        _sqlite_pragmas(engine, sqlite_synchronous, sqlite_busy_timeout_seconds)
    return engine


def _sqlite_pragmas(engine: AsyncEngine, synchronous: str, busy_timeout_seconds: float) -> None:
    if synchronous not in ("NORMAL", "FULL"):  # interpolated into a PRAGMA below: only these two
        raise ValueError("sqlite_synchronous is NORMAL or FULL")

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        # WAL: readers never block the writer; several processes share the file safely. With
        # synchronous=NORMAL a commit is durable against a process crash, not a power loss
        # (DatabaseSettings.sqlite_synchronous says why, and FULL is one setting away).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()


def utc_now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """A timestamp read back from the store in UTC (SQLite returns it naive)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
