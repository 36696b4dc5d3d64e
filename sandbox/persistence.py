"""The sandbox's state in a SQLite file (``SANDBOX_STATE_PATH``), so a restarted sandbox — even one
killed with SIGKILL — continues the loans it had in flight instead of answering "debt … not found".

The whole state is one pickled blob in a one-row table: it is only ever read back by the next
sandbox process of the same code, and one row written in one transaction is never half a snapshot.
Snapshots are taken in the event loop (so they are consistent: nothing runs between two fields) and
written in a thread, at most every :data:`SAVE_INTERVAL_SECONDS` while something changed, and once
more at a clean shutdown. Timers travel as data (sandbox.timers) and run again for the time they had
left; webhooks not yet delivered are sent again. Without the setting none of this runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .delivery import WebhookDispatcher
from .portability import PortabilitySandbox
from .provider import CLOCK, SandboxProvider

log = logging.getLogger(__name__)

STATE_VERSION = 1
"""Bumped whenever the snapshot's shape changes: a blob of another version is ignored (logged), and
the sandbox starts empty rather than half-restored."""
SAVE_INTERVAL_SECONDS = 0.2
SNAPSHOT_SHARE = 0.2
"""Pickling blocks the event loop (it must, to be consistent): a state big enough to take long waits
longer between saves, so that snapshots never take more than this share of the loop's time."""
HEALTHZ = "/_sandbox/healthz"


class StateFile:
    """One row of a SQLite table holding the latest snapshot (WAL: a reader never blocks the writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path)
        connection.execute("PRAGMA journal_mode=WAL")
        # A committed write survives the process being killed; NORMAL only risks the last one to a
        # power cut, which the sandbox can afford.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), saved_at REAL, state BLOB)"
        )
        return connection

    def read(self) -> bytes | None:
        if not self.path.exists():
            return None
        with contextlib.closing(self._connect()) as connection:
            row = connection.execute("SELECT state FROM snapshot WHERE id = 1").fetchone()
        return bytes(row[0]) if row else None

    def write(self, blob: bytes) -> None:
        with contextlib.closing(self._connect()) as connection, connection:  # one transaction: all or nothing
            connection.execute(
                "INSERT INTO snapshot (id, saved_at, state) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state",
                (time.time(), blob),
            )


class SandboxState:
    """Loads the sandbox's state at startup and saves it while it changes."""

    def __init__(
        self, path: Path, provider: SandboxProvider, portability: PortabilitySandbox, dispatcher: WebhookDispatcher
    ) -> None:
        self.file = StateFile(path)
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
        return pickle.dumps(
            {
                "version": STATE_VERSION,
                "provider": self.provider.snapshot(),
                "portability": self.portability.snapshot(),
                "dispatcher": self.dispatcher.snapshot(),
                "timers": self.provider.timers.live(),
                "clock_offset": CLOCK.offset,  # PUT /_sandbox/clock: module state, not the provider's
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    async def load(self) -> None:
        """Take back the last snapshot, if any (in the event loop: timers and deliveries start)."""
        blob = await asyncio.to_thread(self.file.read)
        if blob is None:
            log.info("sandbox state: none in %s yet, starting empty", self.file.path)
            return
        try:
            state: dict[str, Any] = pickle.loads(blob)  # noqa: S301 - our own file, written by this code
        except Exception:
            log.exception("sandbox state in %s unreadable: starting empty", self.file.path)
            return
        if state.get("version") != STATE_VERSION:
            log.warning(
                "sandbox state in %s is version %s, not %s: starting empty",
                self.file.path,
                state.get("version"),
                STATE_VERSION,
            )
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
