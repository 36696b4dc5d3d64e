"""CPU per happy loan by process, alone: the loan batch of ``python -m devtools.bench`` without the rest.

    .venv/bin/python -m devtools.bench.loan_cpu                        # 3 rounds of 40 loans, 1 worker
    .venv/bin/python -m devtools.bench.loan_cpu --loans 60 --rounds 5
    .venv/bin/python -m devtools.bench.loan_cpu --profile DIR   # and a batch under py-spy (worker, gateway, relay)

On an ephemeral local stack as the bench's (no added latency in the sandbox): a warm-up batch, then
``--rounds`` batches of ``--loans`` loans, each metered alone (``system.CpuMeter``), printed per round
and as the median: CPU ms per loan of the worker, the Temporal server, the relay and the gateway. A
few minutes on two cores: for comparing a change to the worker's cost before and after, back to back
on the same machine, without the full bench's twenty minutes. Compare the medians, not one round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from devtools.bench import profile
from devtools.bench.__main__ import SANDBOX
from devtools.bench.system import OURS, CpuMeter, LoanFactory, bench_stack, loan_service, run_loans, stat_cpu_seconds
from devtools.devstack.stack import LocalStack, StackConfig

WARMUP = 10


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds by thread name (``comm``) of one process: the Python thread apart from the Temporal
    core's (tokio) threads and the thread pools."""
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        found[name] = found.get(name, 0.0) + stat_cpu_seconds(stat)
    return found


async def _run(stack: LocalStack, loans: int, rounds: int, profile_dir: Path | None) -> None:
    config = stack.config
    _, service = await loan_service(config, "loan-cpu")
    factory = LoanFactory(config.data_dir / "documents")
    limit_seconds = max(180.0, loans * 2.0)
    await run_loans(service, factory, WARMUP, "warmup", limit_seconds)
    meter = CpuMeter(stack)
    per_round: list[dict[str, float]] = []
    worker = next(p.popen.pid for p in stack.processes if p.name == "worker-0")
    for index in range(rounds):
        meter.start()
        threads = thread_cpu(worker)
        batch = await run_loans(service, factory, loans, f"round-{index}", limit_seconds)
        spent = meter.stop()
        after = thread_cpu(worker)
        by_thread = {name: (after[name] - threads.get(name, 0.0)) * 1000 / loans for name in after}
        busy = sorted(((ms, name) for name, ms in by_thread.items() if ms >= 0.5), reverse=True)
        print("  worker threads, CPU ms per loan: " + ", ".join(f"{name} {ms:.0f}" for ms, name in busy))
        ms = {name: spent.get(name, 0.0) * 1000 / loans for name in OURS}
        per_round.append(ms)
        parts = ", ".join(f"{name} {value:.0f}" for name, value in ms.items())
        print(f"round {index}: {dict(batch.outcomes)}; CPU ms per loan: {parts}", flush=True)
    median = {name: statistics.median(r[name] for r in per_round) for name in OURS}
    parts = ", ".join(f"{name} {value:.0f}" for name, value in median.items())
    print(f"median of {rounds} rounds of {loans} loans: CPU ms per loan: {parts}")
    if profile_dir is None:
        return
    executable = profile.py_spy()
    if executable is None:
        print("--profile: py-spy not found (.venv/bin/pip install py-spy); no profile taken")
        return
    found = await profile.sampled(
        profile.Profiler(profile_dir, executable),
        profile.pids_of(stack.processes, profile.LOAN_PROCESSES),
        run_loans(service, factory, loans, "profiled", limit_seconds),
    )
    text = profile.summary(found, loans, "loan", top=25)
    (profile_dir / "summary.txt").write_text(text + "\n")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=40, help="loans per metered round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="also a batch under py-spy; collapsed stacks and summary here")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="loan-cpu-") as folder,
        bench_stack(StackConfig.ephemeral(Path(folder), workers=0, sandbox_env=SANDBOX)) as stack,
    ):
        asyncio.run(_run(stack, args.loans, args.rounds, args.profile))


if __name__ == "__main__":
    main()
