"""``python -m webhooks.relay``: deliver the webhook inbox to the loans, and the loans' events to the
sales channel (webhooks.outbound), until SIGTERM (settings: RELAY_*, SALES_CHANNEL_*, DATABASE_*,
TEMPORAL_*, CODEC_*)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

import asyncpg
import httpx
from prometheus_client import start_http_server
from sqlalchemy import make_url

from runtime.process import freeze_startup_heap, serve, stop_on_signals
from runtime.settings import TemporalSettings
from runtime.store.db import DatabaseSettings, is_sqlite
from runtime.store.queue import sqlite_commits
from runtime.telemetry import setup_logging, setup_tracing
from runtime.temporal import connect
from webhooks.inbox.sealing import Opener
from webhooks.inbox.store import CHANNEL, Inbox
from webhooks.outbound import outbox
from webhooks.outbound.notifier import Notifier, NotifierMetrics
from webhooks.outbound.settings import SalesChannelSettings, signing_key
from webhooks.relay.relay import Relay, temporal_signal
from webhooks.relay.settings import RelaySettings

log = logging.getLogger("relay")


@contextlib.asynccontextmanager
async def notifications(
    database: DatabaseSettings, wakes: Mapping[str, asyncio.Event], *, sqlite_every: float
) -> AsyncIterator[None]:
    """PostgreSQL: LISTEN for new events and routes, and new sales channel events. SQLite: a look every
    ``sqlite_every`` seconds at whether anything was committed, which wakes both loops."""
    if is_sqlite(database.url):
        async with sqlite_commits(database.url, wakes.values(), every=sqlite_every):
            yield
        return
    url = make_url(database.url).set(drivername="postgresql")
    password = database.password.get_secret_value() if database.password else url.password
    connection = await asyncpg.connect(url.set(password=None).render_as_string(hide_password=False), password=password)
    for channel, wake in wakes.items():
        await connection.add_listener(channel, lambda *_, wake=wake: wake.set())
    try:
        yield
    finally:
        await connection.close()


async def run() -> None:
    settings, database, temporal = RelaySettings(), DatabaseSettings(), TemporalSettings()
    sales_channel = SalesChannelSettings()
    setup_logging("relay")
    setup_tracing("webhook-relay")
    engine = database.engine()
    relay = Relay(
        Inbox(engine),
        Opener(settings.inbox_private_keys.get_secret_value()),
        temporal_signal(await connect(temporal, identity="webhook-relay")),
        batch_size=settings.batch_size,
        concurrency=settings.concurrency,
        retry=timedelta(seconds=settings.retry_seconds),
        lease=timedelta(seconds=settings.lease_seconds),
    )
    async with contextlib.AsyncExitStack() as resources:
        notifier = None
        if sales_channel.url:
            http = await resources.enter_async_context(httpx.AsyncClient(timeout=sales_channel.timeout_seconds))
            notifier = Notifier(
                outbox.Outbox(engine),
                sales_channel.url,
                signing_key(sales_channel.secret),
                http,
                batch_size=sales_channel.batch_size,
                retry=timedelta(seconds=sales_channel.retry_seconds),
                max_backoff=timedelta(seconds=sales_channel.max_backoff_seconds),
                metrics=NotifierMetrics(relay.metrics.registry),
            )
        else:
            log.warning("SALES_CHANNEL_URL is not set: the loans' events stay queued (python -m webhooks.outbound)")
        if settings.metrics_bind:
            host, _, port = settings.metrics_bind.rpartition(":")
            start_http_server(int(port), addr=host or "127.0.0.1", registry=relay.metrics.registry)
        stop, wake, wake_notifier = stop_on_signals(), asyncio.Event(), asyncio.Event()
        # Either database wakes the loops when something is committed; each still looks on its own after
        # its idle seconds (rows falling due for a retry, leases running out).
        every = min(settings.poll_seconds, sales_channel.poll_seconds)
        async with notifications(database, {CHANNEL: wake, outbox.CHANNEL: wake_notifier}, sqlite_every=every):
            idle = settings.idle_seconds
            where = make_url(database.url).render_as_string()
            freeze_startup_heap()  # ready: what it built to start stays out of the collector's full passes
            log.info("relay delivering the inbox at %s to %s", where, temporal.where())
            loops = [
                relay.run(
                    stop,
                    wake,
                    idle=idle,
                    unrouted_retention=settings.unrouted_retention,
                    body_retention=settings.body_retention,
                )
            ]
            if notifier is not None:
                log.info("relay delivering the loans' events to the sales channel")
                loops.append(notifier.run(stop, wake_notifier, idle=sales_channel.idle_seconds))
            await asyncio.gather(*loops)
    await engine.dispose()
    log.info("relay stopped")


if __name__ == "__main__":
    serve(run)
