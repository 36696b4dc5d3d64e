"""``dev.py run`` keeps the system up: a process that dies is restarted with back-off, the others keep
running (devstack.run.Supervisor)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.devstack.run import Supervisor, supervised
from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack, Process, StackConfig, running
from domain.loan import LoanRequest
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX, TEST_CODEC_KEYS
from tests.support.clock import needs_real_clock
from workflows.loan.state import Stage, Status


def _delays(lines: list[str], name: str) -> list[float]:
    return [float(m.group(1)) for line in lines if (m := re.match(rf"{name} .*restarting in ([\d.]+) s", line))]


def _check_until(supervisor: Supervisor, done: Callable[[], bool], seconds: float = 20.0) -> None:
    """Supervision rounds until ``done`` (bounded: a loaded machine starts processes slowly)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "supervision did not get there in time"
        supervisor.check()
        time.sleep(0.01)


def test_a_process_that_keeps_dying_young_waits_longer_each_time_up_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = LocalStack(StackConfig(data_dir=tmp_path, persist=False))

    def crashing_worker(index: int = 0) -> Process:
        return stack._spawn(f"worker-{index}", [sys.executable, "-c", "raise SystemExit(3)"])

    monkeypatch.setattr(stack, "start_worker", crashing_worker)
    crashing_worker(7)
    stack._spawn("sandbox-b", [sys.executable, "-c", "raise SystemExit(4)"])
    lines: list[str] = []
    supervisor = Supervisor(stack, first_delay=0.05, max_delay=0.2, stable_after=30, say=lines.append)
    try:
        _check_until(supervisor, lambda: len(_delays(lines, "worker-7")) >= 5)
    finally:
        stack.stop()
    delays = _delays(lines, "worker-7")
    assert delays[:5] == [0.05, 0.1, 0.2, 0.2, 0.2], lines
    assert supervisor.restarts["worker-7"] >= 4
    assert any(line.startswith("worker-7 exited with 3 after 0 s; restarting in 0.05 s") for line in lines)
    # Not persisted, a sandbox's state lived in memory: reported, not restarted.
    assert [line for line in lines if line.startswith("sandbox")] == [
        f"sandbox-b exited with 4; not restarted: its state lived in memory (see {tmp_path / 'logs' / 'sandbox-b.log'})"
    ]


def test_a_process_that_ran_a_while_starts_over_at_the_first_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = LocalStack(StackConfig(data_dir=tmp_path))

    def short_lived_relay(index: int = 0) -> Process:
        return stack._spawn(f"relay-{index}", [sys.executable, "-c", "import time; time.sleep(0.4)"])

    monkeypatch.setattr(stack, "start_relay", short_lived_relay)
    short_lived_relay()
    lines: list[str] = []
    supervisor = Supervisor(stack, first_delay=0.05, max_delay=1, stable_after=0.2, say=lines.append)
    try:
        _check_until(supervisor, lambda: len(_delays(lines, "relay-0")) >= 3)
    finally:
        stack.stop()
    delays = _delays(lines, "relay-0")
    assert len(delays) >= 3 and set(delays) == {0.05}, lines


def test_a_restart_that_hangs_is_stopped_and_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = LocalStack(StackConfig(data_dir=tmp_path))
    hung: list[Process] = []

    def hanging_gateway() -> Process:
        hung.append(stack._spawn("gateway", [sys.executable, "-c", "import time; time.sleep(60)"]))
        raise TimeoutError("gateway did not answer on /healthz")

    monkeypatch.setattr(stack, "start_gateway", hanging_gateway)
    stack._spawn("gateway", [sys.executable, "-c", "raise SystemExit(1)"])
    lines: list[str] = []
    supervisor = Supervisor(stack, first_delay=0.05, max_delay=0.1, stable_after=30, say=lines.append)
    try:
        _check_until(supervisor, lambda: len(hung) >= 2 and len(_delays(lines, "gateway")) >= 3)
        left_behind = [process for process in hung if process.popen.poll() is None]
    finally:
        stack.stop()
    assert left_behind == []
    assert any("gateway did not start (gateway did not answer on /healthz)" in line for line in lines), lines
    assert "gateway" not in supervisor.restarts


# ---------------------------------------------------------------- the whole system


@pytest.fixture(scope="module")
def supervised_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Supervisor, list[str]]]:
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("supervised"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS, persist=True
    )
    lines: list[str] = []
    with running(config) as stack, supervised(stack, Supervisor(stack, first_delay=0.5, say=lines.append)) as watch:
        yield stack, watch, lines


async def _waiting_for_signature(stack: LocalStack, tmp_path: Path, stamp: str) -> tuple[LoanService, LoanRequest]:
    """A loan started on the stack, issued at the sandbox and waiting for the borrower's signature."""
    client = await connect(
        TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue),
        codec=stack.config.codec_settings(),
    )
    service = LoanService(client, stack.config.task_queue)
    request = sample_request(COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=stamp, documents_dir=tmp_path)
    await service.start(request)
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=90)
    return service, request


async def _killed_and_restarted(stack: LocalStack, supervisor: Supervisor, lines: list[str], name: str) -> Process:
    """SIGKILL the process called ``name`` and wait (bounded) for the supervisor's next restart of it;
    the killed process."""
    restarts = supervisor.restarts.get(name, 0)
    (process,) = [p for p in stack.processes if p.name == name]
    os.kill(process.popen.pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while supervisor.restarts.get(name, 0) <= restarts:
        assert time.monotonic() < deadline, f"{name} was not restarted: {lines}"
        await asyncio.sleep(0.2)
    return process


@pytest.mark.integration
async def test_a_killed_worker_comes_back_the_others_keep_running_and_the_loan_completes(
    supervised_stack: tuple[LocalStack, Supervisor, list[str]], tmp_path: Path
) -> None:
    stack, supervisor, lines = supervised_stack
    service, request = await _waiting_for_signature(stack, tmp_path, "supervised")

    others = {p.name: p.popen.pid for p in stack.processes if p.name != "worker-0"}
    worker = await _killed_and_restarted(stack, supervisor, lines, "worker-0")
    (again,) = [p for p in stack.processes if p.name == "worker-0"]
    assert again.popen.pid != worker.popen.pid and again.popen.poll() is None
    assert any(line.startswith("worker-0 exited with -9") and "restarting in 0.5 s" in line for line in lines)
    assert {p.name: p.popen.pid for p in stack.processes if p.name != "worker-0"} == others

    # The loan that was waiting goes on with the new worker, to its end.
    await service.submit_signature(request.request_key, signature_now())
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert state.status == Status.COMPLETED, state.outcome_reason


@pytest.mark.integration
async def test_a_killed_sandbox_comes_back_with_its_debts_and_the_loan_completes(
    supervised_stack: tuple[LocalStack, Supervisor, list[str]], tmp_path: Path
) -> None:
    stack, supervisor, lines = supervised_stack
    service, request = await _waiting_for_signature(stack, tmp_path, "sandbox-kill")
    # No waiting for a save: the sandbox wrote the debt ahead of the answer that revealed it.
    await _killed_and_restarted(stack, supervisor, lines, "sandbox")
    assert any(line.startswith("sandbox exited with -9") and "restarting" in line for line in lines), lines

    # The new sandbox process knows the debt: the signature goes through and the loan completes.
    await service.submit_signature(request.request_key, signature_now())
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
