"""``dev.py run``: the whole system on this machine, sample loans started and followed, until Ctrl-C.

Supervised: a worker, the gateway, a relay, the codec server or the Temporal dev server that dies is
started again (after 1 s, then 2, 4, ... up to a minute while it keeps dying young), each exit and
restart printed, while everything else keeps running. The sandboxes are restarted too when their
state is kept on disk (``persist``: ``data/sandbox.db``, ``data/sandbox_b.db``), so they continue
the loans in flight; without it their state lived in memory and they are not restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

from devtools.devstack.samples import run_samples
from devtools.devstack.stack import ROOT, LocalStack, Process, StackConfig, secrets_for, where_to_look
from runtime.settings import ENV_VARIABLE, Environment


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


def restarter(stack: LocalStack, name: str) -> Callable[[], Process] | None:
    """How to start the process called ``name`` again, if it is one the run command restarts."""
    if name == "temporal":
        return stack.start_temporal
    if name == "codec-server":
        return stack.start_codec_server
    if name == "gateway":
        return stack.start_gateway
    if name == "sandbox" and stack.config.persist:
        return stack.start_sandbox  # its debts, timers and webhooks come back from its state file
    if name == "sales-channel" and stack.config.persist:
        return stack.start_sales_channel  # what it was told comes back from data/sales_channel.jsonl
    if name == "sandbox-b" and stack.config.persist:
        return stack.start_sandbox_b  # its operations and tokens come back from its state file
    kind, _, index = name.rpartition("-")
    if kind == "relay" and index.isdigit():
        return lambda: stack.start_relay(int(index))
    if kind == "worker" and index.isdigit():
        return lambda: stack.start_worker(int(index))
    return None


class Supervisor:
    """Restarts the stack's processes that die, with back-off. ``check`` does one round; call it often."""

    def __init__(
        self,
        stack: LocalStack,
        *,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        stable_after: float = 30.0,
        say: Callable[[str], None] = _say,
    ) -> None:
        self.stack = stack
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self.say = say
        self.restarts: dict[str, int] = {}
        self._failures: dict[str, int] = {}  # deaths in a row, each before it ran stable_after seconds
        self._started = dict.fromkeys((p.name for p in stack.processes), time.monotonic())
        self._due: dict[str, float] = {}

    def check(self) -> None:
        for process in self.stack.dead():
            self.stack.processes.remove(process)
            self._died(process.name, f"exited with {process.popen.returncode}", process)
        now = time.monotonic()
        for name, due in sorted(self._due.items(), key=lambda item: item[1]):
            if now >= due:
                del self._due[name]
                self._restart(name)

    def _died(self, name: str, how: str, process: Process | None = None) -> None:
        where = f" (see {process.log})" if process else ""
        if restarter(self.stack, name) is None:
            self.say(f"{name} {how}; not restarted: its state lived in memory{where}")
            return
        ran = time.monotonic() - self._started.get(name, 0.0)
        # A process that ran a while before dying starts over at the first delay; one that keeps
        # dying young waits twice as long each time (a broken config should not spin the CPU).
        failures = 1 if ran >= self.stable_after else self._failures.get(name, 0) + 1
        self._failures[name] = failures
        delay = min(self.first_delay * 2 ** (failures - 1), self.max_delay)
        self._due[name] = time.monotonic() + delay
        self.say(f"{name} {how} after {ran:.0f} s; restarting in {delay:g} s{where}")

    def _restart(self, name: str) -> None:
        start = restarter(self.stack, name)
        assert start is not None
        self._started[name] = time.monotonic()
        try:
            process = start()
        except (RuntimeError, TimeoutError, OSError) as error:
            # It died again while starting, or never answered: stop what is left of it, try later.
            for leftover in [p for p in self.stack.processes if p.name == name]:
                self.stack.stop_process(leftover)
            self._died(name, f"did not start ({error})")
            return
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.say(f"{name} restarted (pid {process.popen.pid})")


@contextlib.contextmanager
def supervised(stack: LocalStack, supervisor: Supervisor | None = None) -> Iterator[Supervisor]:
    """A Supervisor checking ``stack`` every half second in a thread, until the block ends (a restart
    under way finishes first, so stopping the stack afterwards stops it too)."""
    supervisor = supervisor or Supervisor(stack)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            supervisor.check()

    thread = threading.Thread(target=watch, name="supervisor", daemon=True)
    thread.start()
    try:
        yield supervisor
    finally:
        stop.set()
        thread.join(timeout=180)


def run_local_stack(workers: int = 1, samples: bool = True) -> int:
    """``dev.py run``: everything up, sample loans started, until Ctrl-C."""
    # This process is development too, like every process it starts: the store it migrates and the
    # samples' client read their settings here, and production's warnings ("DATABASE_URL is SQLite
    # in production") would greet every newcomer.
    os.environ[ENV_VARIABLE] = Environment.DEVELOPMENT.value
    local_secrets = secrets_for(ROOT / "data")
    config = StackConfig(
        data_dir=ROOT / "data",
        workers=workers,
        # Slower than the tests' sandbox so a person can watch the stages change in the Web UI.
        sandbox_env={
            "SANDBOX_PROCESSING_DELAY_SECONDS": "1.5",
            "SANDBOX_CANCEL_GRACE_SECONDS": "45",
            "SANDBOX_TEIMOSINHA_INTERVAL_SECONDS": "15",
            "SANDBOX_WEBHOOK_RETRY_SECONDS": "5",  # the provider's 5 minutes between retries, compressed
        },
    )
    for name, value in local_secrets.items():
        setattr(config, name, value)
    stack = LocalStack(config)
    print("starting: Temporal dev server, webhook gateway, sandbox provider, worker(s) ...", flush=True)
    try:
        stack.start()
        print(where_to_look(config), flush=True)
        with supervised(stack):
            if samples:
                asyncio.run(run_samples(config))
            print("\nrunning; a process that dies is restarted; Ctrl-C stops everything.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stack.stop()
        print("stopped.", flush=True)
