"""A sandbox's state, written ahead: nothing it answers or sends is newer than what its SQLite file holds.

The provider a sandbox stands in for never forgets what it answered: a debt it created, documents it
took, a consultation it accepted, a webhook it sent (and a resent webhook is the same event, with the
same ``event_key``). So the sandbox writes every change **before the answer or the webhook that reveals
it leaves** — :meth:`Journal.commit` runs as the HTTP answer starts (:class:`CommitBeforeAnswer`),
before each webhook attempt and after each timer — and a sandbox killed with SIGKILL at any moment
comes back knowing all it ever told anyone.

The state is rows, not one snapshot: each entry of the owners' dicts (a debt, a proposal, a delivery,
a timer, a remembered answer...) is its own row, and a commit writes only the entries touched since
(looked up, set or removed through a :class:`Tracked` dict) whose pickle changed, plus the few small
single values (counters, the clock's offset) when they changed — one SQLite transaction, so a commit
is all or nothing. A touched entry is checked again at every commit until its unit of work (a request,
a timer, a delivery) ends, so a change made after a mid-request commit (a webhook sent before the
answer) is still written before the answer. ``SANDBOX_STATE_VERIFY`` also compares every entry at
every commit and counts what changed untouched (tests assert none did).

Entries are pickled: the file is only ever read back by the next process of the same code. Another
``version`` of the rows' shape is not read (the sandbox starts empty, logged). Standard library only:
a test double does not use the code it stands in for.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import pickle
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, ValuesView
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
Touch = Callable[[Any], None]
CHECKPOINT_PAGES = 1000  # SQLite's own default mark for moving the WAL into the database file

_unit: contextvars.ContextVar[set[tuple[str, Any]] | None] = contextvars.ContextVar("journal_unit", default=None)


def _ignore(_: Any) -> None:
    return None


class Tracked(dict[K, V]):
    """A dict whose every key looked up, set or removed is reported (``touch``), so the journal checks
    that entry at its next commit. Reading all its values (``values()``/``items()``) reports every key;
    a read-only scan that must not (a health check, a once-a-second sweep) uses :func:`peek`."""

    def __init__(self, touch: Touch = _ignore, items: Iterable[tuple[K, V]] = ()) -> None:
        super().__init__(items)
        self._touch = touch

    def touch(self, key: K) -> None:
        self._touch(key)

    def __getitem__(self, key: K) -> V:
        self._touch(key)
        return super().__getitem__(key)

    def get(self, key: K, default: Any = None) -> Any:
        self._touch(key)
        return super().get(key, default)

    def __setitem__(self, key: K, value: V) -> None:
        self._touch(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: K) -> None:
        self._touch(key)
        super().__delitem__(key)

    def pop(self, key: K, *default: Any) -> Any:
        self._touch(key)
        return super().pop(key, *default)

    def setdefault(self, key: K, default: Any = None) -> Any:
        self._touch(key)
        return super().setdefault(key, default)

    def update(self, *others: Any, **more: Any) -> None:
        for key, value in dict(*others, **more).items():
            self[key] = value

    def clear(self) -> None:
        for key in dict.keys(self):
            self._touch(key)
        super().clear()

    def popitem(self) -> tuple[K, V]:
        key, value = super().popitem()
        self._touch(key)
        return key, value

    def values(self) -> ValuesView[V]:  # type: ignore[override]
        for key in dict.keys(self):
            self._touch(key)
        return super().values()

    def items(self) -> Any:
        for key in dict.keys(self):
            self._touch(key)
        return super().items()

    def __reduce__(self) -> Any:
        raise TypeError("a Tracked dict is written entry by entry, never pickled whole")


def peek(entries: dict[K, V]) -> ValuesView[V]:
    """The values of a (possibly tracked) dict for a scan that changes none of them: nothing reported.
    Whatever the scan then changes, it reaches again through the dict (so that entry is written)."""
    return dict.values(entries)


class Durable:
    """An object whose state a journal keeps: ``DURABLE_KEYED`` names dict attributes written entry by
    entry, ``DURABLE_SINGLE`` small attributes written whole when they change (never tasks or clients)."""

    DURABLE_KEYED: ClassVar[tuple[str, ...]] = ()
    DURABLE_SINGLE: ClassVar[tuple[str, ...]] = ()


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


def _dump(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class Journal:
    """The rows of one SQLite file (``SANDBOX_STATE_PATH``, ``SANDBOX_B_STATE_PATH``)."""

    def __init__(self, path: Path, version: int, *, verify: bool = False) -> None:
        self.path, self.version, self.verify = path, version, verify
        self._keyed: dict[str, Tracked[Any, Any]] = {}
        self._singles: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {}
        self._touched: set[tuple[str, Any]] = set()
        self._written: dict[tuple[str, Any], bytes] = {}  # (part, key) -> digest of the row written
        self.commits = 0
        self._live_units: dict[int, set[tuple[str, Any]]] = {}  # what units still running touched
        self.untracked = 0  # entries found changed without a touch (SANDBOX_STATE_VERIFY)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used from the event loop only: a commit is synchronous, so the cut it writes
        # is the state as it is at that instant (no other task runs while it is taken and written).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A committed transaction is in the WAL file when commit returns: it survives SIGKILL. NORMAL
        # only risks the last transactions to a power cut, which a sandbox can afford.
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint (WAL into the database file) syncs the disk: never in the event loop's commit,
        # but in a thread of its own (:meth:`_checkpoint_later`), which does not block the writer.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._unchecked_pages = 0
        self._checkpointing = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (part TEXT, key BLOB, value BLOB, PRIMARY KEY (part, key))"
        )

    # ------------------------------------------------------------ what it keeps

    def attach(self, name: str, owner: Durable) -> None:
        """Keep ``owner``'s durable attributes: its keyed dicts become :class:`Tracked` ones (same items)."""
        for field in owner.DURABLE_KEYED:
            part = f"{name}.{field}"
            tracked: Tracked[Any, Any] = Tracked(self._toucher(part), dict.items(getattr(owner, field)))
            self._keyed[part] = tracked
            setattr(owner, field, tracked)
            for key in dict.keys(tracked):
                self._touched.add((part, key))
        for field in owner.DURABLE_SINGLE:
            self.single(f"{name}.{field}", _getter(owner, field), _setter(owner, field))

    def single(self, part: str, get: Callable[[], Any], put: Callable[[Any], None]) -> None:
        self._singles[part] = (get, put)

    def _toucher(self, part: str) -> Touch:
        touched = self._touched

        def touch(key: Any) -> None:
            touched.add((part, key))
            unit = _unit.get()
            if unit is not None:
                unit.add((part, key))

        return touch

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """One unit of work (a request, a timer, a delivery): what it touched is checked at every
        commit until it ends, even after a commit in its middle."""
        touched: set[tuple[str, Any]] = set()
        token = _unit.set(touched)
        self._live_units[id(touched)] = touched
        try:
            yield
        finally:
            del self._live_units[id(touched)]
            _unit.reset(token)

    @property
    def clean(self) -> bool:
        """Nothing touched since the last commit (healthz shows it)."""
        return not self._touched

    # ------------------------------------------------------------ writing ahead

    def commit(self) -> int:
        """Write every touched entry that changed, and the single values that changed: one transaction.
        Returns how many rows it wrote or removed."""
        candidates = self._touched | (_unit.get() or set())
        self._touched.clear()
        upserts: list[tuple[str, bytes, bytes]] = []
        deletes: list[tuple[str, bytes]] = []
        digests: dict[tuple[str, Any], bytes | None] = {}
        for part, key in candidates:
            self._stage(part, key, upserts, deletes, digests)
        for part, (get, _) in self._singles.items():
            self._stage_single(part, get(), upserts, digests)
        if self.verify:
            self._stage_untouched(candidates, upserts, deletes, digests)
        if not upserts and not deletes:
            return 0
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO entries (part, key, value) VALUES (?, ?, ?)", upserts)
            self._db.executemany("DELETE FROM entries WHERE part = ? AND key = ?", deletes)
            self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            self._touched |= candidates  # not written: tried again at the next commit
            raise
        for row, digest in digests.items():
            if digest is None:
                self._written.pop(row, None)
            else:
                self._written[row] = digest
        self.commits += 1
        self._unchecked_pages += 1 + sum(len(blob) for _, _, blob in upserts) // 4096
        if self._unchecked_pages >= CHECKPOINT_PAGES:
            self._checkpoint_later()
        return len(upserts) + len(deletes)

    def _checkpoint_later(self) -> None:
        if not self._checkpointing.acquire(blocking=False):
            return  # one is running: the next commit past the mark starts another
        self._unchecked_pages = 0

        def checkpoint() -> None:
            try:
                with contextlib.closing(sqlite3.connect(self.path)) as connection:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                log.warning("sandbox journal: checkpoint of %s failed; tried again later", self.path, exc_info=True)
            finally:
                self._checkpointing.release()

        threading.Thread(target=checkpoint, name="journal-checkpoint", daemon=True).start()

    def _stage(
        self,
        part: str,
        key: Any,
        upserts: list[tuple[str, bytes, bytes]],
        deletes: list[tuple[str, bytes]],
        digests: dict[tuple[str, Any], bytes | None],
    ) -> None:
        entries = self._keyed[part]
        row = (part, key)
        if dict.__contains__(entries, key):
            blob = _dump(dict.__getitem__(entries, key))
            digest = _digest(blob)
            if self._written.get(row) != digest:
                upserts.append((part, _dump(key), blob))
                digests[row] = digest
        elif row in self._written:
            deletes.append((part, _dump(key)))
            digests[row] = None

    def _stage_single(
        self,
        part: str,
        value: Any,
        upserts: list[tuple[str, bytes, bytes]],
        digests: dict[tuple[str, Any], bytes | None],
    ) -> None:
        blob = _dump(value)
        digest = _digest(blob)
        row = (part, None)
        if self._written.get(row) != digest:
            upserts.append((part, _dump(None), blob))
            digests[row] = digest

    def _stage_untouched(
        self,
        checked: set[tuple[str, Any]],
        upserts: list[tuple[str, bytes, bytes]],
        deletes: list[tuple[str, bytes]],
        digests: dict[tuple[str, Any], bytes | None],
    ) -> None:
        """SANDBOX_STATE_VERIFY: every other entry too; one that changed untouched is a missing touch —
        unless a unit still running touched it (it commits that change before it reveals anything)."""
        in_flight = set().union(*self._live_units.values())
        everything = {(part, key) for part, entries in self._keyed.items() for key in dict.keys(entries)}
        everything |= {row for row in self._written if row[0] in self._keyed}
        missed = []
        for part, key in everything - checked:
            before = len(upserts) + len(deletes)
            self._stage(part, key, upserts, deletes, digests)
            if len(upserts) + len(deletes) > before and (part, key) not in in_flight:
                missed.append(part)
        if missed:
            self.untracked += len(missed)
            log.error("sandbox journal: entries of %s changed without being touched (written now)", sorted(missed))

    # ------------------------------------------------------------ reading back

    def load(self) -> bool:
        """Fill the attached owners from the file; False when it holds nothing of this version."""
        version = self._db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
        if version is None or version[0] != str(self.version):
            if version is not None:
                log.warning(
                    "sandbox state in %s is version %s, not %s: starting empty", self.path, version[0], self.version
                )
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM entries")
            self._db.execute("DROP TABLE IF EXISTS snapshot")  # the previous, snapshot-based format
            self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('version', ?)", (str(self.version),))
            self._db.execute("COMMIT")
            self._touched |= {(part, key) for part, entries in self._keyed.items() for key in dict.keys(entries)}
            return False
        found = 0
        for part, raw_key, blob in self._db.execute("SELECT part, key, value FROM entries ORDER BY rowid"):
            key = pickle.loads(raw_key)  # noqa: S301 - our own file, written by this code
            value = pickle.loads(blob)  # noqa: S301
            # Pickled again, not the stored bytes: an unpickled value can share its objects otherwise
            # than the one pickled (equal strings made one), so only this process's pickle compares.
            digest = _digest(_dump(value))
            if part in self._keyed:
                dict.__setitem__(self._keyed[part], key, value)
            elif part in self._singles:
                self._singles[part][1](value)
            else:
                continue  # a part this code no longer keeps
            self._written[(part, key)] = digest
            found += 1
        self._touched.clear()
        return found > 0

    def close(self) -> None:
        self._db.close()


def _getter(owner: object, field: str) -> Callable[[], Any]:
    return lambda: getattr(owner, field)


def _setter(owner: object, field: str) -> Callable[[Any], None]:
    return lambda value: setattr(owner, field, value)


class CommitBeforeAnswer:
    """ASGI middleware: each request is a unit of work, and the journal commits as its answer starts —
    the answer never tells a client anything the file does not hold (an error's answer included)."""

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app, self.journal = app, journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        committed = False

        async def send_committed(message: Message) -> None:
            nonlocal committed
            if message["type"] == "http.response.start" and not committed:
                self.journal.commit()
                committed = True
            await send(message)

        with self.journal.unit():
            try:
                await self.app(scope, receive, send_committed)
            finally:
                if not committed:  # an exception's 500 is answered outside this middleware
                    self.journal.commit()
