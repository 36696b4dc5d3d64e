"""Signed webhooks at a fixed rate against the gateway, and how long the relay takes to hand them on.

The provider's side (webhook-v2): each POST carries the ES512 JWT the sandbox would send, and counts
as received only once the gateway's signed acknowledgement comes back. Three figures:

* sent → acknowledged, as the provider sees it (the client's round trip over loopback: the
  gateway verifies, seals, commits to the inbox, signs its answer), p50/p99 and the rate achieved;
  the gateway's own receive → stored time (its ``Server-Timing``) is printed beside it;
* receipt → delivered: from the gateway's ``received_at`` to the relay's ``delivered_at`` (stamped
  when it settles a pass, once that pass's signals were accepted by Temporal), read from the inbox
  rows themselves. The relay also keeps a
  histogram, but with coarse buckets and only where its metrics are bound; the rows are exact and
  are what an operator would query. The local stack's inbox is SQLite, where the relay polls (every
  0.05 s here) instead of waking on PostgreSQL's NOTIFY: that poll is part of this figure;
* receipt → applied: from that ``received_at`` (carried in the signal) to the completion of the
  workflow task that ran the signal's handler, read from the target's history.

The relay delivers only to a workflow that exists, so each key is routed (as a loan's activity
would route it) to a running ``BenchSink`` workflow (devtools/bench/floor.py) on its own worker. Target on a
2-core machine: p99 <= 50 ms at 200 webhooks/s. Traffic stays on 127.0.0.1; the load is bounded by
count and by time. Run: python -m devtools.bench.gateway_webhooks [--rate 200] [--seconds 15] [--relays 2]
[--database postgresql+asyncpg://user@host/empty_db | --postgres] (the inbox on PostgreSQL, as production
runs it, instead of the embedded SQLite file; the database is migrated, and should be empty: the run's
figures read every row of the inbox; ``--postgres`` starts a throwaway one, devtools/bench/postgres.py,
and meters its CPU too).

It also prints the CPU budget of the path: CPU ms per acknowledged webhook by process (gateway, relay,
Temporal, the sink worker, the load generator; the PostgreSQL server when it is ours), what the offered
rate needs in cores, and how busy the machine was: a p99 that no code change can bring down on this
machine shows up as a rate that needs more cores than there are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select

from activities.qitech import webhook_v2
from devtools.bench.floor import FLOOR_TASK_QUEUE, SINK_WORKFLOW
from devtools.bench.postgres import running_postgres
from devtools.bench.system import Applied, CpuMeter, histories, machine_cpu_seconds, webhooks_applied
from devtools.devstack.stack import LocalStack, Process, StackConfig
from runtime.settings import TemporalSettings
from runtime.store.db import create_engine
from runtime.store.schema import webhook_events
from runtime.temporal import connect
from webhooks.inbox.store import DELIVERED, Inbox

TARGET_P99_MS = 50.0
PATH = "/webhooks/sandbox"
CONNECTIONS = 32
SAMPLE_EVERY = 50  # acknowledgements checked as the provider checks them (after the clock stops)
CPU_MS = "cpu_ms."  # figures "cpu_ms.<process>": CPU ms per acknowledged webhook
LOAD_GENERATOR = "load generator"
T = TypeVar("T")


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Connection:
    """A bare keep-alive HTTP/1.1 connection: the load generator must cost far less CPU than the
    gateway it measures (httpx costs about as much per request as the gateway itself)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        self.writer.write(request)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body


@dataclass(frozen=True)
class Signer:
    """The provider's webhook-v2 keys, from the stack's configuration."""

    private_key: str
    api_client_key: str
    lender_public_key: str  # checks the gateway's acknowledgements

    @classmethod
    def of(cls, config: StackConfig) -> Signer:
        lender_public = webhook_v2.public_key_of(webhook_v2.pem(config.lender_signing_key))
        return cls(config.provider_signing_key, config.api_client_key, lender_public)

    def request(self, host: str, body: bytes) -> bytes:
        headers = webhook_v2.signed_headers(
            body, method="POST", uri=PATH, private_key=self.private_key, api_client_key=self.api_client_key
        )
        lines = [
            f"POST {PATH} HTTP/1.1",
            f"Host: {host}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
            "",
            "",
        ]
        return "\r\n".join(lines).encode() + body


def webhook_body(key: str, index: int) -> tuple[str, bytes]:
    """A collateral webhook for ``key``, with the provider's ``event_key`` as the sandbox sends it
    (the inbox stores it as ``event_key:<uuid>``: the run finds its own rows by it)."""
    event_key = str(uuid.uuid4())
    body = {
        "key": key,
        "data": {"collateral_type": "social_security", "collateral_constituted": False},
        "event_time": f"2026-11-22 10:00:{index % 60:02d}.{index % 1_000_000:06d}",
        "webhook_type": "credit_operation.collateral",
        "event_key": event_key,
    }
    return f"event_key:{event_key}", json.dumps(body).encode()


@dataclass
class Drive:
    event_ids: list[str]  # of the webhooks acknowledged
    sent: int
    failures: int
    seconds: float  # first send to last answer
    client_ms: list[float]
    server_ms: list[float]
    bad_acknowledgements: int
    cpu_seconds: float  # of this whole process over ``seconds``: the load generator and whatever runs beside it


async def drive(
    url: str,
    signer: Signer,
    *,
    rate: float,
    seconds: float,
    keys: list[str],
    at_start: Callable[[], None] | None = None,
) -> Drive:
    """Open loop: send ``rate × seconds`` signed webhooks on schedule, whatever the answers take.
    ``at_start`` is called as the clock starts (the requests are signed by then)."""
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    total = int(rate * seconds)
    requests = []
    for index in range(total):  # built (and signed: ES512 is costly) before the clock starts
        event_id, body = webhook_body(keys[index % len(keys)], index)
        requests.append((event_id, signer.request(f"{host}:{port}", body)))
    connections: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        connections.put_nowait(await _Connection.open(host, port))
    acknowledged: list[str] = []
    server_ms: list[float] = []
    client_ms: list[float] = []
    samples: list[tuple[dict[str, str], bytes]] = []
    failures = 0

    async def one(event_id: str, request: bytes) -> None:
        nonlocal failures
        connection = await connections.get()
        started = time.perf_counter()
        try:
            status, headers, body = await connection.post(request)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            failures += 1
            connection = await _Connection.open(host, port)
        else:
            if status == 200 and webhook_v2.AUTHORIZATION.lower() in headers:
                client_ms.append((time.perf_counter() - started) * 1000)
                acknowledged.append(event_id)
                timing = headers.get("server-timing", "")
                if "dur=" in timing:
                    server_ms.append(float(timing.split("dur=")[1]))
                if len(acknowledged) % SAMPLE_EVERY == 1:
                    samples.append((headers, body))
            else:
                failures += 1
        connections.put_nowait(connection)

    tasks = []
    if at_start is not None:
        at_start()
    cpu_began = time.process_time()
    began = time.perf_counter()
    for index, (event_id, request) in enumerate(requests):
        # Open loop: a closed loop (send when answered) would hide queueing behind the answers.
        delay = began + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - began > seconds * 2:
            break
        tasks.append(asyncio.create_task(one(event_id, request)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    cpu_seconds = time.process_time() - cpu_began
    while not connections.empty():
        connections.get_nowait().writer.close()
    bad = 0
    for headers, body in samples:  # what the provider checks before it counts a webhook received
        try:
            webhook_v2.verify_acknowledgement(body, headers, uri=PATH, public_key=signer.lender_public_key)
        except Exception:
            bad += 1
    return Drive(acknowledged, len(tasks), failures, elapsed, client_ms, server_ms, bad, cpu_seconds)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass
class Deliveries:
    delivered_ms: list[float]
    statuses: dict[str, int]
    drain_seconds: float  # after the last acknowledgement, until none of the run's events is pending


async def deliveries(database_url: str, event_ids: list[str], limit_seconds: float) -> Deliveries:
    """Wait (bounded) until the relay has settled every one of ``event_ids``; their receipt →
    delivered times, from the inbox rows."""
    wanted = set(event_ids)
    engine = create_engine(database_url)
    columns = webhook_events.c
    query = select(columns.event_id, columns.status, columns.received_at, columns.delivered_at)
    began = time.monotonic()
    try:
        while True:
            async with engine.connect() as connection:
                rows = [row for row in (await connection.execute(query)).all() if row.event_id in wanted]
            pending = len(wanted) - sum(1 for row in rows if row.status == DELIVERED)
            if not pending or time.monotonic() - began > limit_seconds:
                break
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    statuses: dict[str, int] = {}
    delivered_ms = []
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
        if row.status == DELIVERED and row.delivered_at is not None:
            delivered_ms.append((_utc(row.delivered_at) - _utc(row.received_at)).total_seconds() * 1000)
    missing = len(wanted) - len(rows)
    if missing:
        statuses["not in the inbox"] = missing
    return Deliveries(delivered_ms, statuses, time.monotonic() - began)


async def route_to_sinks(config: StackConfig, keys: list[str]) -> None:
    """Each key routed to a running workflow of its own, as a loan's activity routes its keys."""
    settings = TemporalSettings(address=config.temporal_address, task_queue=FLOOR_TASK_QUEUE)
    client = await connect(settings, codec=config.codec_settings(), identity="bench-gateway")
    engine = create_engine(config.database_url)
    inbox = Inbox(engine)
    try:
        for key in keys:
            sink = await client.start_workflow(SINK_WORKFLOW, id=f"sink-{key}", task_queue=FLOOR_TASK_QUEUE)
            await inbox.route(key, sink.id)
    finally:
        await engine.dispose()


def start_sink_worker(stack: LocalStack) -> Process:
    return stack.start_polling_process(
        "sink-worker", [sys.executable, "-m", "devtools.bench.floor"], {"TEMPORAL_TASK_QUEUE": FLOOR_TASK_QUEUE}
    )


async def measure_on(
    stack: LocalStack, rate: float, seconds: float, keys: int, also: dict[str, int] | None = None
) -> dict[str, float]:
    """On ``stack`` (server, gateway and relay running): a sink worker for the run, then stopped."""
    figures, _ = await measure_with(stack, rate, seconds, keys, during=None, also=also)
    return figures


async def measure_with(
    stack: LocalStack,
    rate: float,
    seconds: float,
    keys: int,
    during: Callable[[], Coroutine[Any, Any, T]] | None,
    also: dict[str, int] | None = None,
) -> tuple[dict[str, float], T | None]:
    """As ``measure_on``; ``during``, if given, runs while the webhooks are being sent (loans, so
    the figure is "at this rate with loans running"). Also receipt → applied in the sinks, for the
    webhooks received while the run was sending; ``began``/``ended`` (epoch seconds) bound it.

    And the CPU budget of the path: the CPU each process of the stack (and ``also``'s: the
    PostgreSQL server) spent from the first send until every webhook of the run was delivered, per
    acknowledged webhook (``cpu_ms.<process>``; ``worker-0``, ``worker-1`` are ``worker``; whatever
    ``during`` makes them do is in it), with the bench's own process as the load generator over the
    sending only (the requests are signed before; ``during``'s driving is in it, the polling of
    the inbox after is not). ``cpu_busy``: that CPU ÷ (the window's wall seconds × cores);
    ``machine_busy``: the whole machine's, from /proc/stat (anything else running shows here)."""
    config = stack.config
    url = f"{config.gateway_url}{PATH}"
    signer = Signer.of(config)
    pool = [str(uuid.uuid4()) for _ in range(keys)]
    worker = await asyncio.to_thread(start_sink_worker, stack)
    try:
        await route_to_sinks(config, pool)
        # Steady state, as in production: every target has taken a webhook (its first workflow task
        # done) and the gateway's connections and code paths are warm before the clock starts.
        warm = await drive(url, signer, rate=100, seconds=keys / 100, keys=pool)
        await deliveries(config.database_url, warm.event_ids, limit_seconds=60)
        began = datetime.now(UTC)
        alongside: asyncio.Task[T] | None = asyncio.create_task(during()) if during is not None else None
        meter, clock = CpuMeter(stack, also), [0.0, 0.0]

        def clock_started() -> None:
            meter.start()
            clock[:] = [time.perf_counter(), machine_cpu_seconds()[0]]

        run = await drive(url, signer, rate=rate, seconds=seconds, keys=pool, at_start=clock_started)
        ended = datetime.now(UTC)
        settled = await deliveries(config.database_url, run.event_ids, limit_seconds=max(60.0, 4 * seconds))
        spent = meter.stop() | {LOAD_GENERATOR: run.cpu_seconds}
        wall = time.perf_counter() - clock[0]
        machine_busy = machine_cpu_seconds()[0] - clock[1]
        result = await alongside if alongside is not None else None
        applied = await sinks_applied(config, pool, (began, ended))
    finally:
        await asyncio.to_thread(stack.stop_process, worker)
    delivered = settled.statuses.get(DELIVERED, 0)
    figures = {
        "sent": float(run.sent),
        "acknowledged": float(len(run.event_ids)),
        "failures": float(run.failures),
        "bad_acknowledgements": float(run.bad_acknowledgements),
        "throughput": len(run.event_ids) / run.seconds if run.seconds else float("nan"),
        "ack_p50": _quantile(run.client_ms, 0.50),
        "ack_p99": _quantile(run.client_ms, 0.99),
        "stored_p50": _quantile(run.server_ms, 0.50),
        "stored_p99": _quantile(run.server_ms, 0.99),
        "delivered": float(delivered),
        "not_delivered": float(len(run.event_ids) - delivered),
        "delivered_p50": _quantile(settled.delivered_ms, 0.50),
        "delivered_p99": _quantile(settled.delivered_ms, 0.99),
        "drain_seconds": settled.drain_seconds,
        "applied": float(applied.count),
        "applied_p50": applied.p50,
        "applied_p99": applied.p99,
        "began": began.timestamp(),
        "ended": ended.timestamp(),
    }
    acknowledged = len(run.event_ids)
    cores = os.cpu_count() or 1
    for name, cpu in spent.items():
        figures[f"{CPU_MS}{name}"] = cpu * 1000 / acknowledged if acknowledged else float("nan")
    total = sum(spent.values())
    figures |= {
        "cpu_ms_total": total * 1000 / acknowledged if acknowledged else float("nan"),
        "cpu_wall_seconds": wall,
        "cpu_cores": float(cores),
        "cpu_busy": total / (wall * cores),
        "machine_busy": machine_busy / (wall * cores),
    }
    return figures, result


def cpu_budget(f: dict[str, float], rate: float) -> str:
    """``measure_with``'s CPU budget in a line: per webhook by process (largest first), what the
    offered rate needs in cores, and how busy the machine was."""
    by_process = sorted(
        ((k.removeprefix(CPU_MS), v) for k, v in f.items() if k.startswith(CPU_MS)), key=lambda i: -i[1]
    )
    parts = " + ".join(f"{name} {ms:.1f}" for name, ms in by_process)
    cores = f["cpu_ms_total"] * rate / 1000
    return (
        f"{f['cpu_ms_total']:.1f} ms = {parts}; at {rate:.0f}/s that is {cores:.1f} cores of {f['cpu_cores']:.0f}; "
        f"these processes kept the machine {100 * f['cpu_busy']:.0f} % busy over the {f['cpu_wall_seconds']:.1f} s "
        f"from the first send to the last delivery (/proc/stat: {100 * f['machine_busy']:.0f} %)"
    )


async def sinks_applied(config: StackConfig, keys: list[str], window: tuple[datetime, datetime]) -> Applied:
    """Receipt → applied of the webhooks the sinks took, received within ``window``."""
    settings = TemporalSettings(address=config.temporal_address, task_queue=FLOOR_TASK_QUEUE)
    client = await connect(settings, codec=config.codec_settings(), identity="bench-gateway")
    found = await histories(client, [f"sink-{key}" for key in keys])
    return await webhooks_applied(client, found, window)


def measure(
    rate: float = 200.0,
    seconds: float = 15.0,
    keys: int = 500,
    database: str | None = None,
    also: dict[str, int] | None = None,
    relays: int = 1,
) -> dict[str, float]:
    """On a stack of its own: dev server, gateway, ``relays`` relays sharing the inbox (the sink worker
    is started by the run); ``database``: the inbox's URL (PostgreSQL) instead of the stack's own SQLite
    file; ``also``: processes outside the stack whose CPU is metered (its server)."""
    with tempfile.TemporaryDirectory() as folder:
        own = LocalStack(StackConfig.ephemeral(Path(folder), workers=0, database=database))
        try:
            own.migrate_store()
            own.start_temporal()
            own.start_gateway()
            for index in range(relays):
                own.start_relay(index)
            return asyncio.run(measure_on(own, rate, seconds, keys, also))
        finally:
            own.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--keys", type=int, default=500)
    parser.add_argument("--database", default=None, help="the inbox's URL (an empty PostgreSQL database)")
    parser.add_argument(
        "--postgres", action="store_true", help="the inbox on a throwaway PostgreSQL (devtools/bench/postgres.py)"
    )
    parser.add_argument("--relays", type=int, default=1, help="relays sharing the inbox (each its own process)")
    args = parser.parse_args()
    with contextlib.ExitStack() as resources:
        database, also = args.database, None
        if args.postgres:
            server = resources.enter_context(running_postgres())
            database, also = server.url, {"postgresql": server.pid}
        f = measure(args.rate, args.seconds, args.keys, database, also, args.relays)
    store = store_name(database)
    print(
        f"gateway: {args.rate:.0f} webhooks/s for {args.seconds:.0f} s over loopback ({os.cpu_count()} cores), "
        f"inbox on {store}, {args.relays} relay(s)"
    )
    print(
        f"  acknowledged {f['acknowledged']:.0f}/{f['sent']:.0f} ({f['throughput']:.1f}/s), failures "
        f"{f['failures']:.0f}, sampled acknowledgements that do not verify {f['bad_acknowledgements']:.0f}"
    )
    print(
        f"  sent -> acknowledged:     p50 {f['ack_p50']:.1f} ms, p99 {f['ack_p99']:.1f} ms"
        f"  (target p99 <= {TARGET_P99_MS:.0f} ms)"
    )
    print(f"  gateway receive -> stored: p50 {f['stored_p50']:.1f} ms, p99 {f['stored_p99']:.1f} ms")
    print(
        f"  receipt -> delivered:     p50 {f['delivered_p50']:.1f} ms, p99 {f['delivered_p99']:.1f} ms"
        f"  ({f['delivered']:.0f} delivered, {f['not_delivered']:.0f} not; settled {f['drain_seconds']:.1f} s after)"
    )
    print(
        f"  receipt -> applied:       p50 {f['applied_p50']:.1f} ms, p99 {f['applied_p99']:.1f} ms"
        f"  ({f['applied']:.0f} applied by their sink workflow)"
    )
    print(f"  CPU per webhook, by process: {cpu_budget(f, args.rate)}")


def store_name(database: str | None) -> str:
    """What the inbox is on, for a label."""
    if database is None or database.startswith("sqlite"):
        return "SQLite"
    return "PostgreSQL" if database.startswith("postgresql") else database.split(":", 1)[0]


if __name__ == "__main__":
    main()
