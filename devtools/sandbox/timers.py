"""The sandbox's timers ("the provider answers in N seconds"), kept as data as well as asyncio tasks.

A task holding a closure dies with its process; a :class:`Timer` names its object, the generation it
was scheduled for, a method and plain arguments, so the journal keeps it (one entry per timer, under an
id that outlives the process) and a restarted sandbox (sandbox.persistence) schedules the same call
again, under the same id, for the time it had left. A timer's entry goes in the same commit as what it
did, so after a restart it has either run (and is gone) or not (and runs), never both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from devtools.sandbox.journal import Durable

log = logging.getLogger(__name__)

IN_TIMER: ContextVar[bool] = ContextVar("sandbox_in_timer", default=False)
"""True while a timer runs: there is no HTTP answer for a webhook to come "before" (the dispatcher sends
it from a task of its own), and the timer's next timer is recorded in the same commit as its webhook."""


@dataclass(frozen=True)
class Timer:
    owner: str  # who runs it: "debt" (SandboxProvider) or "proposal" (PortabilitySandbox)
    key: str  # the debt's or the proposal's key
    generation: int  # the object's generation when scheduled: a newer one voids the timer
    method: str  # the owner's method, called with the object and ``args``
    args: tuple[Any, ...]  # plain data only (a Faults, a step string, a leg kind): it is pickled
    due: float  # wall-clock time (time.time()), which still means something to the next process
    leg: str | None = None  # Port+Refin: the leg whose generation also guards the timer (a new CCB)
    leg_generation: int = 0


def method_name(owner: object, method: Callable[..., Any]) -> str:
    """The name a timer records ``method`` by: it must be one of ``owner``'s own methods, so that a
    restarted sandbox finds it again by that name."""
    name = getattr(method, "__name__", "")
    assert getattr(owner, name, None) == method, f"{method!r} is not a method of {type(owner).__name__}"
    return name


class TimerOwner(Protocol):
    def timer_is_live(self, timer: Timer) -> bool:
        """Whether its object still exists at the generation(s) the timer was scheduled for."""

    async def run_timer(self, timer: Timer) -> None: ...


class Timers(Durable):
    """The pending timers of every owner. One fires once: its entry is removed then, whether it runs or
    was voided meanwhile."""

    DURABLE_KEYED = ("pending",)
    DURABLE_SINGLE = ("next_id",)

    def __init__(self) -> None:
        self.pending: dict[int, Timer] = {}
        self.next_id = 1
        self._owners: dict[str, TimerOwner] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the persistence: each timer's run is a unit of work, committed once it ran.
        self.unit: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
        self.on_fired: Callable[[], Any] = lambda: None

    def register(self, name: str, owner: TimerOwner) -> None:
        self._owners[name] = owner

    def schedule(self, timer: Timer) -> None:
        timer_id, self.next_id = self.next_id, self.next_id + 1
        self.pending[timer_id] = timer
        self._spawn(timer_id, timer)

    def _spawn(self, timer_id: int, timer: Timer) -> None:
        task = asyncio.create_task(self._run(timer_id, timer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, timer_id: int, timer: Timer) -> None:
        await asyncio.sleep(max(0.0, timer.due - time.time()))
        IN_TIMER.set(True)  # this task's own context
        with self.unit():
            self.pending.pop(timer_id, None)
            owner = self._owners[timer.owner]
            try:
                if owner.timer_is_live(timer):
                    await owner.run_timer(timer)
            except Exception:
                log.exception("sandbox timer %s(%s) failed", timer.method, timer.key)
            self.on_fired()

    def resume(self) -> int:
        """After a restart: schedule again, under its id, each timer the journal gave back (for the time
        it had left, none if overdue; one voided meanwhile is dropped when it fires). Returns how many."""
        timers = list(dict.items(self.pending))
        for timer_id, timer in timers:
            self._spawn(timer_id, timer)
        return len(timers)

    def cancel(self) -> None:
        # The pending ones stay recorded: the next process runs them.
        for task in list(self._tasks):
            task.cancel()
