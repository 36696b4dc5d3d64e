"""Handing a webhook to Temporal: signal-with-start of the key's mailbox workflow."""

from __future__ import annotations

from datetime import timedelta
from mailbox.contract import MAILBOX_WORKFLOW, WEBHOOK_SIGNAL, MailboxInput, mailbox_id

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from provider.models.webhooks import ReceivedWebhook

RPC_TIMEOUT = timedelta(seconds=5)


class MailboxRouter:
    def __init__(self, client: Client, task_queue: str, unclaimed: timedelta, late: timedelta) -> None:
        self._client = client
        self._task_queue = task_queue
        self._unclaimed = unclaimed
        self._late = late

    async def deliver(self, event: ReceivedWebhook) -> None:
        """Returns once Temporal has durably accepted the signal; raises if it has not."""
        await self._client.start_workflow(
            MAILBOX_WORKFLOW,
            MailboxInput(key=event.key, unclaimed_retention=self._unclaimed, late_retention=self._late),
            id=mailbox_id(event.key),
            task_queue=self._task_queue,
            start_signal=WEBHOOK_SIGNAL,
            start_signal_args=[event],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            rpc_timeout=RPC_TIMEOUT,
        )

    async def ready(self) -> bool:
        try:
            await self._client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=2))
        except Exception:
            return False
        return True
