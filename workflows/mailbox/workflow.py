"""One mailbox per provider key: the durable place a webhook waits for its loan.

The gateway signal-with-starts ``provider-key-<key>`` for every webhook; the loan's activity
signal-with-starts it with a claim once the key exists. Whichever comes first creates the
mailbox, so a webhook that beats the HTTP answer creating its key is kept, not lost. Once claimed,
every webhook is forwarded (once, by identity) to the loan as its ``provider_event`` signal. A key
nobody claims is kept, visible to operators (``ProviderKeyMailboxState = unclaimed``), for
``unclaimed_retention``; after the loan releases the key, late duplicates are recorded for
``late_retention`` and not forwarded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.loan.contract import PROVIDER_EVENT_SIGNAL
    from workflows.loan.news_order import first_sight
    from workflows.mailbox.contract import (
        CLAIM_SIGNAL,
        MAILBOX_STATE,
        MAILBOX_WORKFLOW,
        RELEASE_SIGNAL,
        WEBHOOK_SIGNAL,
        KeyClaim,
        KeyRelease,
        MailboxEvent,
        MailboxInput,
        MailboxState,
    )

MAX_REMEMBERED_IDS = 500
HISTORY_LIMIT = 2000


# Unsandboxed: a tiny deterministic router on the path of every webhook, where the sandbox's
# per-activation cost showed in the gateway benchmark; it imports only pydantic models.
@workflow.defn(name=MAILBOX_WORKFLOW, sandboxed=False)
class ProviderKeyMailbox:
    @workflow.init
    def __init__(self, mailbox: MailboxInput) -> None:
        self._input = mailbox
        self._state = mailbox.carried or MailboxState(key=mailbox.key)
        self._published: str | None = None

    @workflow.run
    async def run(self, mailbox: MailboxInput) -> MailboxState:
        state = self._state
        self._publish()
        if state.claimed_by is None:
            claimed = await self._wait_or_continue(lambda: state.claimed_by is not None, mailbox.unclaimed_retention)
            if not claimed:
                state.status = "unclaimed_expired"
                self._publish()
                return state
        while not state.released:
            await self._forward()
            await self._wait_or_continue(lambda: bool(state.pending) or state.released, None)
        await self._forward()
        state.status = "released"
        self._publish()
        # Late duplicates (a provider retry after our 2xx got lost) are recorded here for a while.
        await workflow.sleep(mailbox.late_retention, summary="late duplicates")
        return state

    async def _wait_or_continue(self, condition: Callable[[], bool], limit: timedelta | None) -> bool:
        """Wait for ``condition`` (False if ``limit`` passes first); continue-as-new when history is long."""
        info = workflow.info()

        def too_long() -> bool:
            return info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT

        try:
            await workflow.wait_condition(lambda: condition() or too_long(), timeout=limit)
        except TimeoutError:
            return False
        if not condition() and too_long():
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(self._input.model_copy(update={"carried": self._state}))
        return True

    async def _forward(self) -> None:
        state = self._state
        assert state.claimed_by is not None
        loan = workflow.get_external_workflow_handle(state.claimed_by)
        while state.pending:
            event = state.pending[0]
            try:
                await loan.signal(PROVIDER_EVENT_SIGNAL, event)
            except ApplicationError:
                # The loan is gone (completed): nothing to deliver to; keep it as late.
                state.late.append(event)
            else:
                state.forwarded += 1
            state.pending.pop(0)

    @workflow.signal(name=WEBHOOK_SIGNAL)
    def webhook(self, event: MailboxEvent) -> None:
        state = self._state
        if not first_sight(state.seen_event_ids, event.event_id, remembered=MAX_REMEMBERED_IDS):
            state.duplicates += 1
            return
        if state.released:
            state.late.append(event)
        else:
            state.pending.append(event)

    @workflow.signal(name=CLAIM_SIGNAL)
    def claim(self, claim: KeyClaim) -> None:
        state = self._state
        if state.claimed_by is None:
            state.claimed_by = claim.loan_workflow_id
            state.status = "forwarding"
            self._publish()
        elif state.claimed_by != claim.loan_workflow_id:
            # Two loans cannot own one provider key; the first claim stands and this is on record.
            workflow.logger.warning("key %s already claimed by another loan", state.key)

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, release: KeyRelease) -> None:
        if release.loan_workflow_id == self._state.claimed_by:
            self._state.released = True

    @workflow.query(name="state")
    def query_state(self) -> MailboxState:
        return self._state

    def _publish(self) -> None:
        status = self._state.status
        if status != self._published:
            workflow.upsert_search_attributes([MAILBOX_STATE.value_set(status)])
            self._published = status
