"""A sandbox's state as one versioned snapshot in a SQLite file (``SANDBOX_STATE_PATH``,
``SANDBOX_B_STATE_PATH``), and the objects it is made of, taken and given back by field name.

The snapshot is one pickled blob in a one-row table: it is only ever read back by the next sandbox
process of the same code, and one row written in one transaction is never half a snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import sqlite3
import time
from pathlib import Path
from typing import Any, ClassVar

log = logging.getLogger(__name__)


class Snapshotted:
    """An object whose state is the attributes ``SNAPSHOT_FIELDS`` names (never tasks or clients)."""

    SNAPSHOT_FIELDS: ClassVar[tuple[str, ...]] = ()

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.SNAPSHOT_FIELDS}

    def restore(self, state: dict[str, Any]) -> None:
        for name in self.SNAPSHOT_FIELDS:
            setattr(self, name, state[name])


class StateFile:
    """One row of a SQLite table holding the latest snapshot (WAL: a reader never blocks the writer).
    ``version`` is bumped whenever the snapshot's shape changes: a blob of another version is ignored
    (logged), and the sandbox starts empty rather than half-restored."""

    def __init__(self, path: Path, version: int) -> None:
        self.path = path
        self.version = version

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

    def encode(self, state: dict[str, Any]) -> bytes:
        return pickle.dumps({"version": self.version, **state}, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self) -> dict[str, Any] | None:
        """The last snapshot written, or None (none yet, unreadable or of another version: logged)."""
        if not self.path.exists():
            log.info("sandbox state: none in %s yet, starting empty", self.path)
            return None
        with contextlib.closing(self._connect()) as connection:
            row = connection.execute("SELECT state FROM snapshot WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            state: dict[str, Any] = pickle.loads(bytes(row[0]))  # noqa: S301 - our own file, written by this code
        except Exception:
            log.exception("sandbox state in %s unreadable: starting empty", self.path)
            return None
        if state.get("version") != self.version:
            log.warning(
                "sandbox state in %s is version %s, not %s: starting empty",
                self.path,
                state.get("version"),
                self.version,
            )
            return None
        return state

    def write(self, blob: bytes) -> None:
        with contextlib.closing(self._connect()) as connection, connection:  # one transaction: all or nothing
            connection.execute(
                "INSERT INTO snapshot (id, saved_at, state) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state",
                (time.time(), blob),
            )
