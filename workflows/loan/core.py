"""The plumbing a LoanWorkflow's stages and Updates share: its fields, calling activities, waiting
(bounded, interrupted by endings and continue-as-new), durable timers, and publishing what it does.

Workflow code: deterministic (workflow.now(), timers, activities; no I/O).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import BUSINESS_ERROR, INVALID_DOCUMENT
    from activities.qitech.adapter import LoanActivities
    from activities.qitech.enumerators import DISBURSEMENT_SUCCESS_STATUSES
    from domain.loan import CancelRequest, Documents, LoanRequest, ProviderId
    from workflows.loan.activity_models import DocumentsInput, LookupInput
    from workflows.loan.endings import Ending, ending_now
    from workflows.loan.facts import drain, note_unknown, receive
    from workflows.loan.port import CAPABILITIES
    from workflows.loan.rules import LoanPolicy, LoanRules
    from workflows.loan.state import LoanState, Stage, Status
    from workflows.loan.visibility import Publisher

PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[BUSINESS_ERROR, INVALID_DOCUMENT],
)
CALL_TIMEOUT = timedelta(seconds=60)
CLEANUP_TIMEOUT = timedelta(days=1)  # a cancel or a release at the end: retried for as long as it takes

ASK_THE_MONEY = "ask-the-provider-before-a-cancel-after-averbacao"
"""Patch: a provider's cancel after the averbação is checked against the debt's state first."""

RECONCILE_ON_SILENCE = "reconcile-on-silence"
"""Patch: waits on the provider after issuance ask for its state when silent too long."""


class LoanEnds(Exception):
    """The loan ends here (raised out of a stage or a wait; the run loop closes the loan)."""

    def __init__(self, ending: Ending) -> None:
        super().__init__(ending.reason)
        self.ending = ending


class HistoryTooLong(Exception):
    """History is long enough: carry the state into a fresh run at a safe point."""


def ends(status: Status, reason: str | None, **kwargs: Any) -> LoanEnds:
    return LoanEnds(Ending(status, reason, **kwargs))


ACTIVITY_FAILURES = (ActivityError, ApplicationError)
"""How a failed activity reaches workflow code: an ``ActivityError`` wrapping the activity's failure
(regular activities), or the ``ApplicationError`` itself (a local activity's non-retryable failure,
as this SDK delivers it; found by ``tests/workflows/loan/test_polling.py``)."""


def failure_text(error: ActivityError | ApplicationError) -> tuple[str | None, str]:
    """(error type, readable text with the provider's code) of a failed activity."""
    cause = error if isinstance(error, ApplicationError) else error.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        code = details.get("code")
        text = f"{code}: {details.get('description') or cause.message}" if code else cause.message
        return cause.type, text
    return None, str(cause or error)


class LoanCore:
    """Fields and helpers of a running loan; ``LoanWorkflow`` adds the stages, ``LoanOperations``
    the operator Updates."""

    _request: LoanRequest
    _rules: LoanRules
    _state: LoanState
    _lock: asyncio.Lock
    _cancel: CancelRequest | None
    _window_expired: bool
    _window_timer: asyncio.Task[None] | None
    _publisher: Publisher
    _provider: ProviderId

    # ------------------------------------------------------------ visibility and facts

    def _publish(self) -> None:
        self._publisher.publish(self._state)

    def _drain(self) -> None:
        drain(self._state, rules=self._rules, now=workflow.now())

    def _ending(self) -> Ending | None:
        return ending_now(self._state, cancel=self._cancel, window_expired=self._window_expired)

    def _raise_if_ending(self) -> None:
        ending = self._ending()
        if ending is not None:
            raise LoanEnds(ending)

    # ------------------------------------------------------------ waiting

    async def _wait(self, condition: Callable[[], bool], *, until: datetime | None = None) -> bool:
        """Wait for ``condition``; False if ``until`` passed first. Endings and continue-as-new interrupt."""
        timeout = None
        if until is not None:
            timeout = max(until - workflow.now(), timedelta(0))
        self._publish()
        try:
            await workflow.wait_condition(
                lambda: condition() or self._ending() is not None or self._history_too_long(), timeout=timeout
            )
        except TimeoutError:
            self._raise_if_ending()
            return False
        self._raise_if_ending()
        if not condition() and self._history_too_long():
            raise HistoryTooLong
        return True

    async def _wait_on_provider(
        self,
        condition: Callable[[], bool],
        *,
        collateral: bool = False,
        look_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Wait for the provider's news; after a silence longer than the stage should take, ask the
        provider for the truth (reconciliation) and apply it as the webhook that may have been lost —
        then wait again, asking less and less often. Loans started before this wait as they did."""
        if not workflow.patched(RECONCILE_ON_SILENCE):
            await self._wait(condition)
            return
        state, policy = self._state, self._rules.policy
        silence = policy.provider_silence
        while True:
            heard = state.events[-1].event_id if state.events else None
            if await self._wait(condition, until=workflow.now() + silence):
                return
            last = state.events[-1].event_id if state.events else None
            if last == heard and look_up is not None:
                await look_up()  # a portability reads its proposal back (workflows/loan/portability.py)
                if condition():
                    return
            elif last == heard and state.debt_key:
                await self._look_up_provider_state(collateral=collateral)
                if condition():
                    return
            silence = min(silence * 2, policy.provider_silence_max)

    async def _look_up_provider_state(self, *, collateral: bool) -> None:
        state = self._state
        assert state.debt_key is not None
        lookup = LookupInput(
            debt_key=state.debt_key,
            requester_identifier_key=state.requester_identifier_key or state.request_key,
            collateral=collateral,
        )
        await self._apply_lookup(LoanActivities.look_up_provider_state, lookup)

    async def _apply_lookup(self, activity: Any, lookup: Any) -> None:
        """Ask the provider (a local activity) and apply what it says as the webhooks it implies."""
        state = self._state
        try:
            found = await self._activity(activity, lookup, local=True)
        except ACTIVITY_FAILURES as error:  # the provider is out of reach: the next silence asks again
            note_unknown(state, f"provider lookup failed: {failure_text(error)[1]}"[:300])
            return
        state.lookups += 1
        for event in found.events:
            receive(state, event, rules=self._rules, now=workflow.now())
        self._publish()

    async def _money_truth(self, end: LoanEnds) -> LoanEnds:
        """A provider's cancel after the averbação contradicts the money if the debt was paid out
        (a canceled event overtaking the disbursed one): before the loan ends on it, ask the provider.
        Only for the webhook providers' debts; loans started before this asked nothing."""
        state, ending = self._state, end.ending
        provider_cancel = ending.status in (Status.CANCELED, Status.CANCELED_PERMANENTLY) and self._cancel is None
        if not (provider_cancel and state.collateral_constituted and state.debt_key and not state.disbursed):
            return end
        if not CAPABILITIES[self._provider].webhooks or not workflow.patched(ASK_THE_MONEY):
            return end
        try:
            found = await self._activity(
                LoanActivities.look_up_provider_state,
                LookupInput(debt_key=state.debt_key, requester_identifier_key=state.requester_identifier_key),
                local=True,
            )
        except ACTIVITY_FAILURES as error:
            note_unknown(state, f"could not ask the provider whether the debt was paid out: {failure_text(error)[1]}")
            return end
        paid = [e for e in found.events if getattr(e.webhook, "status", None) in DISBURSEMENT_SUCCESS_STATUSES]
        if not paid:
            return end
        note_unknown(state, f"the provider said {ending.reason!r} but its debt is {paid[0].webhook.status}: completed")
        receive(state, paid[0], rules=self._rules, now=workflow.now())
        return ends(Status.COMPLETED, "disbursed")

    def _enter(self, stage: Stage) -> None:
        # Published at the next wait or activity: stages passed through without waiting cost no
        # history event (each search-attribute upsert is one).
        self._state.stage = stage

    @property
    def _policy(self) -> LoanPolicy:
        return self._rules.policy

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._rules.policy.history_event_limit
        )

    @staticmethod
    def _deadline_timer(moment: datetime, summary: str) -> asyncio.Task[None]:
        """A durable timer as a task: done() once ``moment`` passes. One timer serves several waits."""

        async def sleep() -> None:
            remaining = moment - workflow.now()
            if remaining > timedelta(0):
                await workflow.sleep(remaining, summary=summary)

        return asyncio.create_task(sleep())

    def _start_window_timer(self) -> None:
        end = self._state.disbursement_window_end
        if end is None or self._window_timer is not None:
            return

        async def expire() -> None:
            remaining = end - workflow.now()
            if remaining > timedelta(0):
                await workflow.sleep(remaining, summary="disbursement window")
            self._window_expired = True

        self._window_timer = asyncio.create_task(expire())

    # ------------------------------------------------------------ activities

    @property
    def _loan_id(self) -> str:
        return workflow.info().workflow_id

    async def _activity(
        self, method: Any, argument: Any, schedule_to_close: timedelta | None = None, *, local: bool = False
    ) -> Any:
        """Run an activity. ``local`` for short request/answer calls: one marker event in the history
        instead of three events and a workflow task."""
        self._publish()
        execute = workflow.execute_local_activity_method if local else workflow.execute_activity_method
        return await execute(
            method,
            argument,
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=schedule_to_close or self._rules.policy.provider_call_timeout,
            retry_policy=PROVIDER_RETRY,
        )

    async def _call(self, method: Any, argument: Any, *, refusal: Status = Status.REJECTED, local: bool = False) -> Any:
        """An activity whose failure ends the loan: a refusal by the provider, or the provider out of
        reach for longer than the rules allow."""
        try:
            return await self._activity(method, argument, local=local)
        except ACTIVITY_FAILURES as error:
            kind, text = failure_text(error)
            if kind == BUSINESS_ERROR:
                raise ends(refusal, f"provider refused {method.__name__}: {text}", cancel_at_provider=True) from None
            if kind == INVALID_DOCUMENT:
                raise ends(refusal, f"{method.__name__}: {text}", cancel_at_provider=True) from None
            raise ends(
                refusal, f"provider unavailable for {method.__name__}: {text}", cancel_at_provider=True
            ) from None

    async def _attach(self, documents: Documents) -> None:
        state = self._state
        assert state.debt_key and state.related_party_key
        try:
            async with self._lock:
                await self._activity(
                    LoanActivities.attach_documents,
                    DocumentsInput(
                        request_key=state.request_key,
                        debt_key=state.debt_key,
                        related_party_key=state.related_party_key,
                        documents=documents,
                    ),
                )
        except ACTIVITY_FAILURES as error:
            state.document_problem = failure_text(error)[1]
            self._publish()
            raise
        state.documents_attached, state.document_problem = True, None
