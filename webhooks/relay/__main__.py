"""``python -m webhooks.relay``: deliver the webhook inbox to the loans until SIGTERM (settings: RELAY_*,
DATABASE_*, TEMPORAL_*, CODEC_*)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
from prometheus_client import start_http_server
from sqlalchemy import make_url

from runtime.settings import TemporalSettings
from runtime.store.db import DatabaseSettings, is_sqlite
from runtime.telemetry import exit_now, setup_logging, setup_tracing
from runtime.temporal import connect
from webhooks.inbox.sealing import Opener
from webhooks.inbox.store import CHANNEL, Inbox
from webhooks.relay.relay import Relay, temporal_signal
from webhooks.relay.settings import RelaySettings

log = logging.getLogger("relay")


@contextlib.asynccontextmanager
async def notifications(database: DatabaseSettings, wake: asyncio.Event) -> AsyncIterator[None]:
    """PostgreSQL: LISTEN for new events and routes (SQLite: nothing, the relay polls)."""
    if is_sqlite(database.url):
        yield
        return
    url = make_url(database.url).set(drivername="postgresql")
    password = database.password.get_secret_value() if database.password else url.password
    connection = await asyncpg.connect(url.set(password=None).render_as_string(hide_password=False), password=password)
    await connection.add_listener(CHANNEL, lambda *_: wake.set())
    try:
        yield
    finally:
        await connection.close()


async def run() -> None:
    settings, database, temporal = RelaySettings(), DatabaseSettings(), TemporalSettings()
    setup_logging("relay")
    setup_tracing("webhook-relay")
    engine = database.engine()
    relay = Relay(
        Inbox(engine),
        Opener(settings.inbox_private_keys.get_secret_value()),
        temporal_signal(await connect(temporal, identity="webhook-relay")),
        batch_size=settings.batch_size,
        retry=timedelta(seconds=settings.retry_seconds),
    )
    if settings.metrics_bind:
        host, _, port = settings.metrics_bind.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=relay.metrics.registry)
    stop, wake = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with notifications(database, wake):
        idle = settings.poll_seconds if is_sqlite(database.url) else settings.idle_seconds
        log.info("relay delivering the inbox at %s to %s", make_url(database.url).render_as_string(), temporal.where())
        await relay.run(
            stop,
            wake,
            idle=idle,
            unrouted_retention=settings.unrouted_retention,
            body_retention=settings.body_retention,
        )
    await engine.dispose()
    log.info("relay stopped")


def main() -> None:
    asyncio.run(run())
    exit_now(0)


if __name__ == "__main__":
    main()
