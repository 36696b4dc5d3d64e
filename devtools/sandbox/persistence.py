"""The sandbox's state in a SQLite file (``SANDBOX_STATE_PATH``), so a restarted sandbox — even one
killed with SIGKILL — continues the loans it had in flight instead of answering "debt … not found".

The whole state is one snapshot (sandbox.snapshot.StateFile), taken in the event loop (so it is
consistent: nothing runs between two fields) and written in a thread, at most every
:data:`SAVE_INTERVAL_SECONDS` while something changed, and once more at a clean shutdown. Timers
travel as data (sandbox.timers) and run again for the time they had left; webhooks not yet delivered
are sent again. Without the setting none of this runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from devtools.sandbox.clock import CLOCK
from devtools.sandbox.delivery import WebhookDispatcher
from devtools.sandbox.portability import PortabilitySandbox
from devtools.sandbox.provider import SandboxProvider
from devtools.sandbox.snapshot import StateFile

log = logging.getLogger(__name__)

STATE_VERSION = 2
"""Bumped whenever the snapshot's shape changes (sandbox.snapshot.StateFile)."""
SAVE_INTERVAL_SECONDS = 0.2
SNAPSHOT_SHARE = 0.2
"""Pickling blocks the event loop (it must, to be consistent): a state big enough to take long waits
longer between saves, so that snapshots never take more than this share of the loop's time."""
HEALTHZ = "/_sandbox/healthz"


class SandboxState:
    """Loads the sandbox's state at startup and saves it while it changes."""

    def __init__(
        self, path: Path, provider: SandboxProvider, portability: PortabilitySandbox, dispatcher: WebhookDispatcher
    ) -> None:
        self.file = StateFile(path, STATE_VERSION)
        self.provider, self.portability, self.dispatcher = provider, portability, dispatcher
        self._changed = asyncio.Event()
        self._writing = False
        self._snapshot_seconds = 0.0  # how long the last snapshot held the event loop
        # What changes the state besides HTTP calls: timers firing, webhooks delivered or given up.
        provider.timers.on_fired = self.mark_changed
        dispatcher.on_settled = self.mark_changed

    def mark_changed(self) -> None:
        self._changed.set()

    @property
    def saved(self) -> bool:
        """Nothing changed since the last snapshot written (healthz shows it; the tests wait for it)."""
        return not self._changed.is_set() and not self._writing

    def _snapshot(self) -> bytes:
        return self.file.encode(
            {
                "provider": self.provider.snapshot(),
                "portability": self.portability.snapshot(),
                "dispatcher": self.dispatcher.snapshot(),
                "timers": self.provider.timers.live(),
                "clock_offset": CLOCK.offset,  # PUT /_sandbox/clock: module state, not the provider's
            }
        )

    async def load(self) -> None:
        """Take back the last snapshot, if any (in the event loop: timers and deliveries start)."""
        state = await asyncio.to_thread(self.file.load)
        if state is None:
            return
        self.provider.restore(state["provider"])
        self.portability.restore(state["portability"])
        CLOCK.offset = state["clock_offset"]
        timers = self.provider.timers.restore(state["timers"])
        resent = self.dispatcher.restore(state["dispatcher"])
        log.info(
            "sandbox state loaded from %s: %d debts, %d proposals, %d timers resumed, %d webhooks sent again",
            self.file.path,
            len(self.provider.debts),
            len(self.portability.proposals),
            timers,
            resent,
        )

    async def save(self) -> None:
        self._changed.clear()  # before the snapshot: a change from now on is saved by the next one
        self._writing = True
        try:
            started = time.perf_counter()
            blob = self._snapshot()  # here, in the loop: no other task runs while it is taken
            self._snapshot_seconds = time.perf_counter() - started
            await asyncio.to_thread(self.file.write, blob)
        except Exception:
            log.exception("sandbox state could not be written to %s: trying again", self.file.path)
            self._changed.set()
        finally:
            self._writing = False

    async def run(self) -> None:
        """The debounced saver: a burst of changes costs one write per interval, not one per change."""
        while True:
            await self._changed.wait()
            await self.save()
            await asyncio.sleep(max(SAVE_INTERVAL_SECONDS, self._snapshot_seconds / SNAPSHOT_SHARE))


class MarkChanged:
    """ASGI middleware: after every request but the health check, the state may have changed."""

    def __init__(self, app: ASGIApp, changed: Callable[[], None]) -> None:
        self.app = app
        self.changed = changed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and not (scope["method"] == "GET" and scope["path"] == HEALTHZ):
                self.changed()
