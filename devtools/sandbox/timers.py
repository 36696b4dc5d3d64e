"""The sandbox's timers ("the provider answers in N seconds"), kept as data as well as asyncio tasks.

A task holding a closure dies with its process; a :class:`Timer` names its object, the generation it
was scheduled for, a method and plain arguments, so a snapshot carries it and a restarted sandbox
(sandbox.persistence) schedules the same call again for the time it had left.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


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


class Timers:
    """The pending timers of every owner. One fires once: it is removed then, whether it runs or was
    voided meanwhile (a snapshot keeps only the live ones)."""

    def __init__(self) -> None:
        self.pending: dict[int, Timer] = {}
        self._owners: dict[str, TimerOwner] = {}
        self._ids = itertools.count(1)  # in-process only: ids are not part of a snapshot
        self._tasks: set[asyncio.Task[None]] = set()
        # Called after each timer ran: the persistence saves the state it changed.
        self.on_fired: Callable[[], None] = lambda: None

    def register(self, name: str, owner: TimerOwner) -> None:
        self._owners[name] = owner

    def schedule(self, timer: Timer) -> None:
        timer_id = next(self._ids)
        self.pending[timer_id] = timer
        task = asyncio.create_task(self._run(timer_id, timer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, timer_id: int, timer: Timer) -> None:
        await asyncio.sleep(max(0.0, timer.due - time.time()))
        del self.pending[timer_id]
        owner = self._owners[timer.owner]
        try:
            if owner.timer_is_live(timer):
                await owner.run_timer(timer)
        except Exception:
            log.exception("sandbox timer %s(%s) failed", timer.method, timer.key)
        self.on_fired()

    def live(self) -> list[Timer]:
        """The pending timers still meant to run (what a snapshot keeps), soonest first."""
        timers = [t for t in self.pending.values() if self._owners[t.owner].timer_is_live(t)]
        return sorted(timers, key=lambda t: t.due)

    def restore(self, timers: Iterable[Timer]) -> int:
        """Schedule again each timer whose object and generation still match, for the time it had
        left (none if overdue); returns how many."""
        restored = 0
        for timer in timers:
            if timer.owner in self._owners and self._owners[timer.owner].timer_is_live(timer):
                self.schedule(timer)
                restored += 1
        return restored

    def cancel(self) -> None:
        # The pending ones stay recorded: the final snapshot carries them to the next process.
        for task in list(self._tasks):
            task.cancel()
