"""``python -m ops.adopt_mailboxes``: once, after the first deploy of the webhook inbox — the keys that
running mailboxes forward for become routes in the inbox, and the mailboxes are released (they record
late duplicates for their retention, then close). Idempotent: run it again and it finds nothing.

Before the inbox, a loan claimed its provider keys through ``ProviderKeyMailbox`` workflows; those
claims live only in the mailboxes. Without this, webhooks for keys that loans in flight learnt before
the deploy would wait in the inbox unrouted. Settings: TEMPORAL_*, CODEC_*, DATABASE_*.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client

from runtime.settings import TemporalSettings
from runtime.store.db import store_engine
from runtime.telemetry import exit_now
from runtime.temporal import connect
from webhooks.inbox.store import Inbox
from workflows.mailbox.contract import MAILBOX_STATE, MAILBOX_WORKFLOW, RELEASE_SIGNAL, KeyRelease, MailboxState

log = logging.getLogger("ops.adopt_mailboxes")

FORWARDING = (
    f"WorkflowType = '{MAILBOX_WORKFLOW}' AND ExecutionStatus = 'Running' AND {MAILBOX_STATE.name} = 'forwarding'"
)


async def adopt(client: Client, inbox: Inbox) -> int:
    """Routes every forwarding mailbox's key to its loan, then releases the mailbox; how many."""
    adopted = 0
    async for execution in client.list_workflows(FORWARDING):
        handle = client.get_workflow_handle(execution.id)
        state = await handle.query("state", result_type=MailboxState)
        if state.claimed_by is None or state.released:
            continue
        owner = await inbox.route(state.key, state.claimed_by)
        if owner != state.claimed_by:
            log.warning("mailbox %s: its key is routed to another loan already; left as it is", execution.id)
            continue
        await handle.signal(RELEASE_SIGNAL, KeyRelease(loan_workflow_id=state.claimed_by))
        adopted += 1
    return adopted


async def run() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s mailbox.adopt %(levelname)s: %(message)s")
    async with store_engine() as engine:
        adopted = await adopt(await connect(TemporalSettings(), identity="mailbox-adopt"), Inbox(engine))
    log.info("%d mailbox key(s) routed in the inbox and released", adopted)
    return 0


if __name__ == "__main__":
    exit_now(asyncio.run(run()))
