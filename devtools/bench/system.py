"""Measurements of the whole system on one local stack: loans end to end, the fixed floor, history
sizes (events and bytes), workflows per loan, webhook delivery and application, CPU per process and
worker memory. ``python -m devtools.bench`` runs them in order and
prints the table; each function here takes the running stack and returns plain figures.

Loans are the ``completes`` sample (CPF first digit 1: every provider step succeeds). The driver
plays the formalization front end: it finds loans waiting for the signature through visibility
(``LoanStage = 'awaiting_signature'``), not by querying each loan, so the workers under test do not
also answer queries, and signs them with the ``submit_signature`` update. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from devtools.bench.floor import FLOOR_TASK_QUEUE, FLOOR_WORKFLOW, SIGNATURE_UPDATE, floor_input
from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, Process, StackConfig
from devtools.sandbox.scenarios import benefit_number_for
from domain.loan import LoanRequest
from runtime.settings import TemporalSettings
from runtime.store.db import create_engine
from runtime.store.schema import webhook_events
from runtime.temporal import connect
from starter.api import LoanService, loan_workflow_id
from webhooks.inbox.store import DELIVERED
from workflows.loan.contract import PROVIDER_EVENT_SIGNAL as EVENT_SIGNAL

START_CONCURRENCY = 64


@contextlib.contextmanager
def bench_stack(config: StackConfig) -> Iterator[LocalStack]:
    """What every bench measures against: the store, a dev server, the gateway, a relay, the provider's
    sandbox and one worker (more are started by the figure that needs them); all stopped after."""
    stack = LocalStack(config)
    try:
        stack.migrate_store()
        stack.start_temporal()
        stack.start_gateway()
        stack.start_relay()
        stack.start_sandbox()
        stack.start_worker(0)
        yield stack
    finally:
        stack.stop()


@dataclass
class Batch:
    workflow_ids: list[str]
    seconds: float  # first start to last completion
    outcomes: Counter[str]

    @property
    def per_second(self) -> float:
        return len(self.workflow_ids) / self.seconds if self.seconds else float("nan")


async def loan_service(config: StackConfig, identity: str) -> tuple[Client, LoanService]:
    """A client of the stack's Temporal (its payload codec) and the service that starts its loans."""
    settings = TemporalSettings(address=config.temporal_address, task_queue=config.task_queue)
    client = await connect(settings, codec=config.codec_settings(), identity=identity)
    return client, LoanService(client, config.task_queue, pii_hash_key=config.pii_hash_key.encode())


class LoanFactory:
    """Loan requests from one template (documents written once); a fresh CPF and key per loan."""

    def __init__(self, documents_dir: Path, seed: int = 7) -> None:
        self._rng = random.Random(seed)
        self._template = sample_request(
            COMPLETES, cpf=sample_cpf(1, self._rng), stamp="bench", documents_dir=documents_dir
        )
        self._count = 0

    @staticmethod
    def prefix(batch: str) -> str:
        return f"bench-{batch}-"

    def make(self, batch: str) -> LoanRequest:
        self._count += 1
        cpf = sample_cpf(1, self._rng)
        template = self._template
        return template.model_copy(
            update={
                "request_key": f"{self.prefix(batch)}{self._count:06d}",
                "borrower": template.borrower.model_copy(update={"cpf": cpf}),
                "benefit": template.benefit.model_copy(update={"number": benefit_number_for(cpf)}),
            }
        )


async def _bounded(calls: list[Callable[[], Awaitable[Any]]], limit: int = START_CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


async def _sign_when_waiting(client: Client, workflow_type: str, pending: set[str], stop: asyncio.Event) -> None:
    query = f"WorkflowType = '{workflow_type}' AND LoanStage = 'awaiting_signature' AND ExecutionStatus = 'Running'"
    signing: list[asyncio.Task[Any]] = []
    while pending and not stop.is_set():
        async for execution in client.list_workflows(query, page_size=1000):
            if execution.id in pending:
                pending.discard(execution.id)
                handle = client.get_workflow_handle(execution.id)
                signing.append(asyncio.create_task(handle.execute_update(SIGNATURE_UPDATE, signature_now())))
        await asyncio.sleep(0.1)
    await asyncio.gather(*signing)


async def _drive(
    client: Client,
    workflow_type: str,
    starts: list[Callable[[], Awaitable[str]]],
    limit_seconds: float,
    spread_seconds: float = 0.0,
) -> Batch:
    """Start every workflow (all at once, or evenly over ``spread_seconds``), sign each when it
    asks, and wait for all to close."""
    began = time.perf_counter()
    if spread_seconds > 0:
        step = spread_seconds / len(starts)

        def spaced(index: int, start: Callable[[], Awaitable[str]]) -> Callable[[], Awaitable[str]]:
            async def call() -> str:
                await asyncio.sleep(index * step)
                return await start()

            return call

        starts = [spaced(i, start) for i, start in enumerate(starts)]
    workflow_ids: list[str] = await _bounded(starts, limit=max(START_CONCURRENCY, len(starts)))
    stop = asyncio.Event()
    signer = asyncio.create_task(_sign_when_waiting(client, workflow_type, set(workflow_ids), stop))
    outcomes: Counter[str] = Counter()
    finished = began

    async def close(workflow_id: str) -> None:
        nonlocal finished
        try:
            await client.get_workflow_handle(workflow_id).result()
        except Exception as error:
            outcomes[type(error).__name__] += 1
        else:
            outcomes["completed"] += 1
        finished = max(finished, time.perf_counter())

    try:
        await asyncio.wait_for(asyncio.gather(*(close(w) for w in workflow_ids)), limit_seconds + spread_seconds)
    finally:
        stop.set()
        await signer
    return Batch(workflow_ids, finished - began, outcomes)


async def run_loans(
    service: LoanService,
    factory: LoanFactory,
    count: int,
    batch: str,
    limit_seconds: float,
    spread_seconds: float = 0.0,
) -> Batch:
    requests = [factory.make(batch) for _ in range(count)]  # built before the clock starts

    def start(request: LoanRequest) -> Callable[[], Awaitable[str]]:
        async def call() -> str:
            return (await service.start(request)).workflow_id

        return call

    starts = [start(r) for r in requests]
    return await _drive(service.client, "LoanWorkflow", starts, limit_seconds, spread_seconds)


async def run_floor(client: Client, count: int, batch: str, limit_seconds: float) -> Batch:
    request = floor_input()

    def start(index: int) -> Callable[[], Awaitable[str]]:
        async def call() -> str:
            handle = await client.start_workflow(
                FLOOR_WORKFLOW, request, id=f"floor-{batch}-{index:06d}", task_queue=FLOOR_TASK_QUEUE
            )
            return handle.id

        return call

    return await _drive(client, FLOOR_WORKFLOW, [start(i) for i in range(count)], limit_seconds)


def start_floor_worker(stack: LocalStack, index: int) -> Process:
    return stack.start_polling_process(
        f"floor-worker-{index}",
        [sys.executable, "-m", "devtools.bench.floor"],
        {"TEMPORAL_TASK_QUEUE": FLOOR_TASK_QUEUE},
    )


# ------------------------------------------------------------------ history sizes


async def history(client: Client, workflow_id: str, run_id: str | None = None) -> list[HistoryEvent]:
    return [event async for event in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events()]


@dataclass
class Chain:
    """Every run of one workflow id (continue-as-new makes a chain of runs)."""

    runs: int
    total_events: int
    max_run_events: int
    signals: int


async def chain(client: Client, workflow_id: str) -> Chain:
    sizes, signals = [], 0
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        events = await history(client, workflow_id, execution.run_id)
        sizes.append(len(events))
        signals += sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in events)
    return Chain(runs=len(sizes), total_events=sum(sizes), max_run_events=max(sizes, default=0), signals=signals)


@dataclass
class Shape:
    """One run's history as the server keeps it: how many events of each kind, and its bytes."""

    events: int
    bytes: int  # protobuf: the events' serialized size, payloads as stored (encrypted by the codec)
    json_bytes: int  # the same history as ``WorkflowHistory.to_json()`` (payloads base64): for comparison
    workflow_tasks: int
    activities: int
    local_activities: int
    signals: int
    updates: int
    timers: int
    canceled_timers: int
    upserts: int
    largest_payload: int  # bytes of the largest single event

    def describe(self) -> str:
        return (
            f"{self.activities} activities, {self.local_activities} local activities, {self.signals} signals, "
            f"{self.updates} update(s), {self.timers} timers ({self.canceled_timers} canceled), "
            f"{self.upserts} upserts, {self.workflow_tasks} workflow tasks"
        )


_COUNTED = {
    "workflow_tasks": EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    "activities": EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    "local_activities": EventType.EVENT_TYPE_MARKER_RECORDED,
    "signals": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    "updates": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    "timers": EventType.EVENT_TYPE_TIMER_STARTED,
    "canceled_timers": EventType.EVENT_TYPE_TIMER_CANCELED,
    "upserts": EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
}


def shape_of(history: WorkflowHistory) -> Shape:
    counts = Counter(event.event_type for event in history.events)
    sizes = [event.ByteSize() for event in history.events]
    return Shape(
        events=len(sizes),
        bytes=sum(sizes),
        json_bytes=len(history.to_json()),
        largest_payload=max(sizes, default=0),
        **{name: counts[kind] for name, kind in _COUNTED.items()},
    )


def median_shape(shapes: list[Shape]) -> Shape:
    """The median of each figure over ``shapes`` (webhooks race, so two loans' histories can differ
    by a workflow task or two)."""
    fields = Shape.__dataclass_fields__
    return Shape(**{name: int(_quantile([float(getattr(s, name)) for s in shapes], 0.5)) for name in fields})


async def histories(client: Client, workflow_ids: list[str], limit: int = 8) -> list[WorkflowHistory]:
    """The latest run's history of each workflow, a few fetched at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(workflow_id: str) -> WorkflowHistory:
        async with gate:
            return await client.get_workflow_handle(workflow_id).fetch_history()

    return list(await asyncio.gather(*(one(w) for w in workflow_ids)))


@dataclass
class Applied:
    """Webhooks from the gateway's receipt to the loan: ``signalled`` when the server took the
    relay's signal (its event time), ``applied`` when the workflow task that ran the signal handler
    completed (the loan's state changed and its commands were recorded)."""

    count: int
    signalled_ms: list[float]
    applied_ms: list[float]

    @property
    def p50(self) -> float:
        return _quantile(self.applied_ms, 0.5)

    @property
    def p99(self) -> float:
        return _quantile(self.applied_ms, 0.99)


async def webhooks_applied(
    client: Client, found: list[WorkflowHistory], received_between: tuple[datetime, datetime] | None = None
) -> Applied:
    """Receipt → signalled and receipt → applied of every webhook signalled to these workflows (the
    signal's own payload says when the gateway received it); ``received_between``: only those."""
    signalled_ms, applied_ms = [], []
    for history in found:
        pending: list[tuple[datetime, datetime]] = []  # (received, signalled) awaiting their task
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                payloads = event.workflow_execution_signaled_event_attributes.input.payloads
                if event.workflow_execution_signaled_event_attributes.signal_name != EVENT_SIGNAL or not payloads:
                    continue
                (body,) = await client.data_converter.decode(list(payloads)[:1])
                received = datetime.fromisoformat(str(body["received_at"]))
                if received_between and not received_between[0] <= received <= received_between[1]:
                    continue
                pending.append((received, event.event_time.ToDatetime(tzinfo=UTC)))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and pending:
                done = event.event_time.ToDatetime(tzinfo=UTC)
                for received, signalled in pending:
                    signalled_ms.append((signalled - received).total_seconds() * 1000)
                    applied_ms.append((done - received).total_seconds() * 1000)
                pending.clear()
    return Applied(len(applied_ms), signalled_ms, applied_ms)


async def teimosinha_loan(
    service: LoanService, factory: LoanFactory, sandbox_url: str, attempts: int, limit_seconds: float
) -> Chain:
    """One loan whose averbação answers 'margin exceeded' ``attempts`` times (teimosinha) before it
    succeeds. Returns its chain of runs (its webhooks reach it through the inbox: no other workflow)."""
    request = factory.make("teimosinha")
    scenario = {"averbacao": ["consignable_margin_excceded"] * attempts + ["success"]}
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10.0) as sandbox:
        (await sandbox.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json=scenario)).raise_for_status()

    async def start() -> str:
        return (await service.start(request)).workflow_id

    batch = await _drive(service.client, "LoanWorkflow", [start], limit_seconds)
    if batch.outcomes["completed"] != 1:
        raise RuntimeError(f"the teimosinha loan did not complete: {dict(batch.outcomes)}")
    return await chain(service.client, loan_workflow_id(request.request_key))


# ------------------------------------------------------------------ workflows per loan


@dataclass
class Workflows:
    loans: int
    by_type: dict[str, int]  # distinct workflow ids per workflow type
    runs: int  # executions, counting each continue-as-new run

    @property
    def per_loan(self) -> float:
        return sum(self.by_type.values()) / self.loans if self.loans else float("nan")


async def workflows_per_loan(client: Client, excluded_types: set[str]) -> Workflows:
    """Every workflow the run created (visibility lists each run of each), but the benchmark's own
    (``excluded_types``: the floor's): the old webhook path started a mailbox per provider key, the
    inbox none, so this should be 1."""
    ids: dict[str, set[str]] = {}
    runs = 0
    async for execution in client.list_workflows(page_size=1000):
        if execution.workflow_type in excluded_types:
            continue
        ids.setdefault(execution.workflow_type, set()).add(execution.id)
        runs += 1
    by_type = {kind: len(found) for kind, found in sorted(ids.items())}
    return Workflows(by_type.get("LoanWorkflow", 0), by_type, runs)


# ------------------------------------------------------------------ webhook delivery


@dataclass
class Delivery:
    count: int  # of the loans' webhooks delivered
    others: dict[str, int]  # stored for them but not delivered, by status (late: its loan had ended)
    p50_ms: float
    p99_ms: float


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def loans_delivery(database_url: str, loan_ids: list[str]) -> Delivery:
    """Receipt (the gateway's ``received_at``) → delivered (the relay's ``delivered_at``, stamped as
    it settles the pass that signalled it) of the webhooks that reached these loans, from the inbox
    rows. Real traffic, so it includes a webhook that beat its key's route and waited for it."""
    wanted = set(loan_ids)
    columns = webhook_events.c
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(columns.loan_id, columns.status, columns.received_at, columns.delivered_at)
                )
            ).all()
    finally:
        await engine.dispose()
    mine = [row for row in rows if row.loan_id in wanted]
    times = [
        (_utc(row.delivered_at) - _utc(row.received_at)).total_seconds() * 1000
        for row in mine
        if row.status == DELIVERED and row.delivered_at is not None
    ]
    others: dict[str, int] = {}
    for row in mine:
        if row.status != DELIVERED:
            others[row.status] = others.get(row.status, 0) + 1
    return Delivery(len(times), others, _quantile(times, 0.5), _quantile(times, 0.99))


# ------------------------------------------------------------------ worker memory


def stat_cpu_seconds(stat: str) -> float:
    """User + system CPU time in a ``/proc/.../stat`` line (a process's or one of its threads')."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and every live descendant (a server that forks its workers is still
    one process of the stack). A process gone between listing and reading counts nothing."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += cpu_seconds(current)
            todo += _children(current)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


OURS = ("temporal", "worker", "gateway", "relay")  # what we run in production, per loan
DOUBLES = ("sandbox", "sandbox_b")  # the provider doubles: reported apart, never in the ratio
FLOOR = ("temporal", "floor-worker")  # the engine under the floor


class CpuMeter:
    """CPU seconds each process of the stack spends between ``start`` and ``stop``: where a loan's
    cost goes (server, worker, gateway, relay, and apart the provider doubles). The bench's own
    process (starting loans, signing them, listing visibility) is not counted. ``also``: processes
    outside the stack, by name (a PostgreSQL server: its postmaster, whose backends are its children)."""

    def __init__(self, stack: LocalStack, also: dict[str, int] | None = None) -> None:
        self._stack = stack
        self._also = dict(also or {})
        self._begin: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        found = {p.name: tree_cpu_seconds(p.popen.pid) for p in self._stack.processes if p.popen.poll() is None}
        return found | {name: tree_cpu_seconds(pid) for name, pid in self._also.items()}

    def start(self) -> None:
        self._begin = self._now()

    def stop(self) -> dict[str, float]:
        """CPU seconds by group: ``worker-0`` and ``worker-1`` are both ``worker``."""
        end = self._now()
        spent: dict[str, float] = {}
        for name, value in end.items():
            group = name.rsplit("-", 1)[0] if name[-1].isdigit() else name
            spent[group] = spent.get(group, 0.0) + value - self._begin.get(name, 0.0)
        return spent


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, every core, from /proc/stat:
    whatever ran, the stack's or not (another job on the machine shows up here)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_gauge(metrics_url: str, name: str) -> float | None:
    try:
        text = httpx.get(metrics_url, timeout=5.0).text
    except httpx.HTTPError:
        return None
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]
    return sum(values) if values else None


@dataclass
class Memory:
    loans: int
    rss_before: int
    rss_after: int
    cached_workflows: float | None  # the SDK's sticky-cache gauge, after the loans were opened
    cached_before: float | None
    activities_rss_before: int  # the activities worker's (WORKER_ROLE=activities), beside
    activities_rss_after: int

    @property
    def per_thousand(self) -> float:
        return (self.rss_after - self.rss_before) * 1000 / self.loans

    @property
    def cached_loans(self) -> float:
        """Loans the worker holds in its cache beyond the baseline's (all opened ones if the gauge
        is not there: the cache is larger than any run's count)."""
        if self.cached_workflows is None:
            return float(self.loans)
        return max(1.0, self.cached_workflows - (self.cached_before or 0.0))

    @property
    def per_cached_loan(self) -> float:
        return (self.rss_after - self.rss_before) / self.cached_loans


async def open_loans_memory(
    stack: LocalStack, service: LoanService, factory: LoanFactory, count: int, limit_seconds: float
) -> Memory:
    """Fresh workers split by role, as a worker deployment that scales memory runs them: the loans' workflow
    tasks in one (``worker-0``, WORKER_ROLE=workflows: the cached loans live there), the activities in
    another (``worker-1``: the parsing of the providers' answers, whose freed space would otherwise stay
    in the first's allocator); ``count`` loans brought to the signature wait (window timer running),
    then left open. RSS of each before and after."""
    activities = await asyncio.to_thread(stack.start_worker, 1, WORKER_ROLE="activities")
    worker = await asyncio.to_thread(stack.start_worker, 0, WORKER_ROLE="workflows")
    # A few loans first, so the baseline includes what any working worker has loaded and cached.
    await run_loans(service, factory, 5, "memory-warmup", limit_seconds)
    await asyncio.sleep(2.0)
    metrics = f"http://127.0.0.1:{stack.config.worker_metrics_port}/metrics"
    before, activities_before = rss_bytes(worker.popen.pid), rss_bytes(activities.popen.pid)
    cached_before = worker_gauge(metrics, "temporal_sticky_cache_size")
    requests = [factory.make("memory") for _ in range(count)]

    def start(request: LoanRequest) -> Callable[[], Awaitable[Any]]:
        return lambda: service.start(request)

    await _bounded([start(r) for r in requests])
    query = (
        "WorkflowType = 'LoanWorkflow' AND LoanStage = 'awaiting_signature' AND ExecutionStatus = 'Running'"
        f" AND WorkflowId STARTS_WITH '{loan_workflow_id(factory.prefix('memory'))}'"
    )
    deadline = time.monotonic() + limit_seconds
    waiting = 0
    while time.monotonic() < deadline:
        waiting = (await service.client.count_workflows(query)).count
        if waiting >= count:
            break
        await asyncio.sleep(0.5)
    if waiting < count:
        raise TimeoutError(f"only {waiting} of {count} loans reached the signature wait in {limit_seconds:.0f} s")
    await asyncio.sleep(2.0)  # let the last activations settle
    after = rss_bytes(worker.popen.pid)
    cached = worker_gauge(metrics, "temporal_sticky_cache_size")
    return Memory(count, before, after, cached, cached_before, activities_before, rss_bytes(activities.popen.pid))
