"""The gateway's group commit: the webhooks that arrive while the inbox is committing wait, and are
then stored together in one transaction, instead of one transaction (and one turn at the database's
write lock) each.

Each request still gets its answer only after *its* row is committed: a request's future is resolved
after the transaction that holds its row commits, with its own outcome (stored, or a duplicate); if
that transaction fails, every request in it gets the error (the gateway answers 503 to each, and the
provider retries) and none is acknowledged. On SQLite, where writers take turns at one lock, this
is what lets the gateway keep the provider's pace: one writer that commits whatever is waiting
(webhooks/gateway/DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging

from webhooks.inbox.store import Inbox, Incoming

log = logging.getLogger("gateway")

MAX_BATCH = 64
"""Rows in one transaction at most: one multi-row INSERT, 10 bound values a row (SQLite's limit on
bound values is 32,766; a batch this size commits in a few milliseconds)."""


class GroupCommit:
    """One task drains what is waiting, stores it in one transaction, then answers each waiter."""

    def __init__(self, inbox: Inbox, *, max_batch: int = MAX_BATCH) -> None:
        self.inbox = inbox
        self._max_batch = max_batch
        # None: the writer's signal to stop, once what was queued before it is written.
        self._waiting: asyncio.Queue[tuple[Incoming, asyncio.Future[bool]] | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def put(self, incoming: Incoming) -> bool:
        """As ``Inbox.put``: True once stored (committed), False for a duplicate; raises if the
        transaction holding it failed (nothing of it stored)."""
        if self._closed:
            raise RuntimeError("the inbox writer is closed")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.put_nowait((incoming, future))
        if self._writer is None or self._writer.done():
            # A context of its own: not the first request's (its trace span, anything it set).
            self._writer = asyncio.create_task(self._write(), name="inbox-group-commit", context=contextvars.Context())
        return await future

    async def _write(self) -> None:
        stopping = False
        while not stopping:
            batch: list[tuple[Incoming, asyncio.Future[bool]]] = []
            item = await self._waiting.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= self._max_batch or self._waiting.empty():
                    break
                item = self._waiting.get_nowait()
            stopping = item is None
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[Incoming, asyncio.Future[bool]]]) -> None:
        try:
            outcomes = await self.inbox.put_many([incoming for incoming, _ in batch])
        except BaseException as error:
            # Not committed, or not known to be: none of these may be acknowledged.
            failure = error if isinstance(error, Exception) else RuntimeError("the inbox writer stopped")
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(error, Exception):
                raise
            log.warning("inbox write of %d webhook(s) failed: %s", len(batch), type(error).__name__)
            return
        for (_, future), stored in zip(batch, outcomes, strict=True):
            if not future.done():  # a request whose client left: its row is stored all the same
                future.set_result(stored)

    async def close(self) -> None:
        """Stop taking webhooks; those already waiting are written (or failed) before this returns."""
        self._closed = True
        writer = self._writer
        if writer is None or writer.done():
            return
        self._waiting.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await writer
