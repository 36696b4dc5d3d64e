"""Claiming a provider key for a loan, so webhooks about it reach the loan (see webhooks/gateway/DESIGN/md).

A webhook carries the provider's key, not our workflow id, and may arrive before the HTTP answer
that created the key reaches us. Each key has a mailbox workflow (``provider-key-<key>``): the
gateway signal-with-starts it with every webhook, the loan's activity signal-with-starts it with
a claim as soon as the key exists, and the mailbox forwards to the loan once claimed.
"""

from __future__ import annotations

from typing import Protocol

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from workflows.mailbox.contract import (
    CLAIM_SIGNAL,
    MAILBOX_WORKFLOW,
    RELEASE_SIGNAL,
    KeyClaim,
    KeyRelease,
    MailboxInput,
    mailbox_id,
)


class KeyClaimer(Protocol):
    async def claim(self, key: str, loan_id: str) -> None: ...

    async def release(self, keys: list[str], loan_id: str) -> None: ...


class TemporalKeyClaimer:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def _signal_with_start(self, key: str, signal: str, argument: object) -> None:
        await self._client.start_workflow(
            MAILBOX_WORKFLOW,
            MailboxInput(key=key),
            id=mailbox_id(key),
            task_queue=self._task_queue,
            start_signal=signal,
            start_signal_args=[argument],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )

    async def claim(self, key: str, loan_id: str) -> None:
        await self._signal_with_start(key, CLAIM_SIGNAL, KeyClaim(loan_workflow_id=loan_id))

    async def release(self, keys: list[str], loan_id: str) -> None:
        for key in keys:
            handle = self._client.get_workflow_handle(mailbox_id(key))
            try:
                await handle.signal(RELEASE_SIGNAL, KeyRelease(loan_workflow_id=loan_id))
            except RPCError as error:
                # A mailbox that already closed has nothing to release.
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
