"""The one-time hand-over from the mailbox workflows to the inbox: a key a running mailbox forwards
for becomes a route, and the mailbox is released — on the stack's dev server and worker, with a
mailbox started the way the previous version started them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client

from devtools.devstack.stack import LocalStack
from ops.adopt_mailboxes import adopt
from runtime.store.db import create_engine
from tests.support.mailbox_claims import TemporalKeyClaimer
from tests.support.temporal import eventually
from webhooks.inbox.store import Inbox
from workflows.mailbox.contract import MailboxState, mailbox_id

pytestmark = pytest.mark.integration


async def test_a_forwarding_mailbox_becomes_a_route_and_is_released(stack: LocalStack, temporal_client: Client) -> None:
    key, loan_id = str(uuid.uuid4()), f"loan-{uuid.uuid4()}"
    await TemporalKeyClaimer(temporal_client, stack.config.task_queue).claim(key, loan_id)
    mailbox = temporal_client.get_workflow_handle(mailbox_id(key))

    async def listed_forwarding() -> bool:
        found = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{mailbox_id(key)}'")]
        return bool(found) and found[0].search_attributes.get("ProviderKeyMailboxState") == ["forwarding"]

    await eventually(listed_forwarding, seconds=20, what="the mailbox listed as forwarding")
    engine = create_engine(stack.config.database_url)
    try:
        inbox = Inbox(engine)
        assert await adopt(temporal_client, inbox) >= 1
        assert await inbox.route(key, "some-other-loan") == loan_id  # the mailbox's claim stands

        async def released() -> Any:
            state = await mailbox.query("state", result_type=MailboxState)
            return state if state.released else None

        assert (await eventually(released, what="mailbox released")).claimed_by == loan_id
    finally:
        await engine.dispose()
