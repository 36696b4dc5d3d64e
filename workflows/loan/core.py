"""The running loan every journey shares: its fields, calling the provider's activities, waiting
(bounded, interrupted by endings and continue-as-new), durable timers, asking the provider after a
silence, and publishing what it does. One object, composed into each journey (not a base class).

Workflow code: deterministic (workflow.now(), timers, activities; no I/O).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.loan import CancelRequest, Documents, ProviderId, VerifiedOperator
    from workflows.loan.activity_models import DocumentsInput, LookupInput
    from workflows.loan.contract import LoanInput
    from workflows.loan.endings import Ending, ending_now, paid_out
    from workflows.loan.facts import drain, note_unknown, receive
    from workflows.loan.port import (
        ATTACH_DOCUMENTS,
        BUSINESS_ERROR,
        CAPABILITIES,
        INVALID_DOCUMENT,
        LOOK_UP_PROVIDER_STATE,
        Call,
    )
    from workflows.loan.rules import LoanPolicy, LoanRules, legacy_rules
    from workflows.loan.state import LoanState, OperatorAction, Stage, Status
    from workflows.loan.telling import SALES_CHANNEL_EVENTS, SalesChannelTeller
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
NOTICE_NOT_FOUND = "notice-the-provider-does-not-know"  # a key the provider answers 404 for is shown
CONSENT_EXPLAINS_A_CANCEL = "consent-explains-a-cancel"  # a canceled proposal waits for the consent's news
EARLY_PATCHES = (SALES_CHANNEL_EVENTS, NOTICE_NOT_FOUND, CONSENT_EXPLAINS_A_CANCEL)

MAX_ACTIONS_REMEMBERED = 50


def action_key(update: str, argument: BaseModel) -> str:
    """An operator's action by what it asks (the Update and its argument), whatever its Update id."""
    # Who sent it is not what it asks: a retry re-encoded through the codec server carries a new seal.
    asked = argument.model_dump_json(exclude={"verified_operator"})
    return f"{update}:{hashlib.sha256(asked.encode()).hexdigest()[:24]}"


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


def refused(action: str, error: ActivityError | ApplicationError) -> ApplicationError:
    """An operator's Update whose provider call failed: the provider's reason, nothing changed."""
    kind, text = failure_text(error)
    return ApplicationError(f"{action} refused: {text}", type=kind or "ActionFailed", non_retryable=True)


class LoanRun:
    """A loan while it runs: what it was asked (request, rules, provider), what it knows (state), and
    the means every journey uses to act and wait."""

    def __init__(self, loan: LoanInput) -> None:
        self.request = loan.request
        self.rules: LoanRules = loan.rules or legacy_rules(loan.policy)
        self.provider = loan.provider or loan.request.provider or ProviderId.QITECH
        self.in100 = loan.in100
        if loan.carried is not None:
            self.state = loan.carried
            self.state.runs += 1
        else:
            self.state = LoanState(request_key=loan.request.request_key, product=loan.request.product)
            # Only a loan whose routing pinned its provider names it (and publishes LoanProvider).
            self.state.provider = loan.provider.value if loan.provider else None
        self.lock = asyncio.Lock()
        self.cancel: CancelRequest | None = None
        self.window_expired = False
        self.window_timer: asyncio.Task[None] | None = None
        self.publisher = Publisher()
        self.running_actions: set[str] = set()
        self.action_failures: dict[str, BaseException] = {}
        self.teller = SalesChannelTeller()
        self.patches: frozenset[str] = frozenset()  # EARLY_PATCHES this run takes (decide_patches)

    # ------------------------------------------------------------ operators' actions, once each

    def repeats(self, update: str, argument: BaseModel) -> bool:
        """An operator's action already taken (or being taken) with this very argument."""
        key = action_key(update, argument)
        return key in self.running_actions or key in self.state.actions_done or key in self.action_failures

    async def once(self, update: str, argument: BaseModel, act: Callable[[], Awaitable[LoanState]]) -> LoanState:
        """An operator's action that reaches the provider, taken once per identity (``action_key``): a
        retry — the same argument under another Update id, from a client whose first call timed out or
        whose worker died — waits for the first call and gets its outcome, and never calls the provider
        again. The first call runs inline, so its commands come exactly where they always did."""
        key = action_key(update, argument)
        if key in self.running_actions:
            await workflow.wait_condition(lambda: key not in self.running_actions)
        if key in self.action_failures:
            raise self.action_failures[key]
        if key in self.state.actions_done:
            return self.state
        self.running_actions.add(key)
        try:
            result = await act()
        except BaseException as failure:
            self.action_failures[key] = failure
            raise
        finally:
            self.running_actions.discard(key)
        self.state.actions_done.append(key)
        del self.state.actions_done[:-MAX_ACTIONS_REMEMBERED]
        return result

    def decide_patches(self) -> None:
        """EARLY_PATCHES, asked first thing in the run: one first asked after a local activity of the same
        workflow task does not replay when that activity spanned a task heartbeat (seen under load)."""
        self.patches = frozenset(name for name in EARLY_PATCHES if workflow.patched(name))
        self.teller.tells = SALES_CHANNEL_EVENTS in self.patches

    def next_run(self) -> LoanInput:
        """The input of the loan's next run (continue-as-new): its state and its pinned choices."""
        provider = ProviderId(self.state.provider) if self.state.provider else None
        return LoanInput(
            request=self.request,
            rules=self.rules,
            policy=self.rules.policy,
            carried=self.state,
            provider=provider,
            in100=self.in100,
        )

    # ------------------------------------------------------------ visibility and facts

    def publish(self) -> None:
        self.publisher.publish(self.state)
        self.teller.tell(self.state)  # whatever changed the loan, the sales channel may be due news

    def drain(self) -> None:
        drain(self.state, rules=self.rules, now=workflow.now())

    def ending(self) -> Ending | None:
        return ending_now(self.state, cancel=self.cancel, window_expired=self.window_expired)

    def raise_if_ending(self) -> None:
        ending = self.ending()
        if ending is not None:
            raise LoanEnds(ending)

    def enter(self, stage: Stage) -> None:
        # Published at the next wait or activity: stages passed through without waiting cost no
        # history event (each search-attribute upsert is one).
        self.state.stage = stage

    def operator(
        self, kind: str, note: str = "", *, by: VerifiedOperator | None = None, claimed: str | None = None
    ) -> None:
        """Record an operator's action: by the verified operator, else by the name the caller claimed."""
        who = str(by) if by is not None else claimed
        self.state.operator_actions.append(
            OperatorAction(kind=kind, at=workflow.now(), note=note, by=who, verified=by is not None)
        )

    @property
    def policy(self) -> LoanPolicy:
        return self.rules.policy

    @property
    def loan_id(self) -> str:
        return workflow.info().workflow_id

    # ------------------------------------------------------------ waiting

    def history_too_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested() or info.get_current_history_length() > self.policy.history_event_limit
        )

    async def wait(
        self, condition: Callable[[], bool], *, until: datetime | None = None, summary: str | None = None
    ) -> bool:
        """Wait for ``condition``; False if ``until`` passed first. Endings and continue-as-new interrupt.
        ``summary`` names the timer in the Web UI's timeline ("consent deadline", "next poll")."""
        timeout = None
        if until is not None:
            timeout = max(until - workflow.now(), timedelta(0))
        self.publish()
        try:
            await workflow.wait_condition(
                lambda: condition() or self.ending() is not None or self.history_too_long(),
                timeout=timeout,
                timeout_summary=summary if timeout is not None else None,
            )
        except TimeoutError:
            self.raise_if_ending()
            return False
        self.raise_if_ending()
        if not condition() and self.history_too_long():
            raise HistoryTooLong
        return True

    async def wait_on_provider(
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
            await self.wait(condition)
            return
        state, policy = self.state, self.policy
        silence = policy.provider_silence
        while True:
            heard = state.events[-1].event_id if state.events else None
            if await self.wait(condition, until=workflow.now() + silence, summary="provider silence: next lookup"):
                return
            last = state.events[-1].event_id if state.events else None
            if last == heard and look_up is not None:
                await look_up()  # a portability reads its proposal back (workflows.loan.portability)
                if condition():
                    return
            elif last == heard and state.debt_key:
                await self.look_up_provider_state(collateral=collateral)
                if condition():
                    return
            silence = min(silence * 2, policy.provider_silence_max)

    def start_window_timer(self) -> None:
        end = self.state.disbursement_window_end
        if end is None or self.window_timer is not None:
            return

        async def expire() -> None:
            remaining = end - workflow.now()
            if remaining > timedelta(0):
                await workflow.sleep(remaining, summary="disbursement window")
            self.window_expired = True

        self.window_timer = asyncio.create_task(expire())

    # ------------------------------------------------------------ asking the provider

    async def look_up_provider_state(self, *, collateral: bool) -> None:
        state = self.state
        assert state.debt_key is not None
        lookup = LookupInput(
            debt_key=state.debt_key,
            requester_identifier_key=state.requester_identifier_key or state.request_key,
            collateral=collateral,
        )
        await self.apply_lookup(LOOK_UP_PROVIDER_STATE, lookup)

    async def apply_lookup(self, call: Call[Any], lookup: Any) -> None:
        """Ask the provider (a local activity) and apply what it says as the webhooks it implies."""
        state = self.state
        try:
            found = await self.activity(call, lookup, local=True)
        except ACTIVITY_FAILURES as error:  # the provider is out of reach: the next silence asks again
            note_unknown(state, f"provider lookup failed: {failure_text(error)[1]}"[:300])
            return
        state.lookups += 1
        for event in found.events:
            receive(state, event, rules=self.rules, now=workflow.now())
        if (found.not_found or state.provider_does_not_know) and NOTICE_NOT_FOUND in self.patches:
            self.notice_not_found(found.not_found)
        self.publish()

    def notice_not_found(self, not_found: list[str]) -> None:
        """The provider does not know a key this loan holds: never issued again on our own (a second
        debt is the one thing that must not happen), shown to an operator, and asked again at the next
        silence — if the provider finds it after all (a lagging replica, a restored database), it clears."""
        state = self.state
        missing = sorted(set(not_found))
        if missing and missing != state.provider_does_not_know:
            state.provider_does_not_know_since = workflow.now()
            which = ", ".join(missing)
            note_unknown(state, f"the provider answers not found for this loan's {which}: an operator must check")
        elif not missing:
            state.provider_does_not_know_since = None
        state.provider_does_not_know = missing

    async def money_truth(self, end: LoanEnds) -> LoanEnds:
        """A provider's cancel after the averbação contradicts the money if the debt was paid out
        (a canceled event overtaking the disbursed one): before the loan ends on it, ask the provider.
        Only for the webhook providers' debts; loans started before this asked nothing."""
        state, ending = self.state, end.ending
        provider_cancel = ending.status in (Status.CANCELED, Status.CANCELED_PERMANENTLY) and self.cancel is None
        if not (provider_cancel and state.collateral_constituted and state.debt_key and not state.disbursed):
            return end
        if not CAPABILITIES[self.provider].webhooks or not workflow.patched(ASK_THE_MONEY):
            return end
        try:
            found = await self.activity(
                LOOK_UP_PROVIDER_STATE,
                LookupInput(debt_key=state.debt_key, requester_identifier_key=state.requester_identifier_key),
                local=True,
            )
        except ACTIVITY_FAILURES as error:
            note_unknown(state, f"could not ask the provider whether the debt was paid out: {failure_text(error)[1]}")
            return end
        paid = [event for event in found.events if paid_out(event)]
        if not paid:
            return end
        note_unknown(state, f"the provider said {ending.reason!r} but its debt is {paid[0].status}: completed")
        receive(state, paid[0], rules=self.rules, now=workflow.now())
        return ends(Status.COMPLETED, "disbursed")

    # ------------------------------------------------------------ activities

    async def activity(
        self, call: Call[Any], argument: Any, schedule_to_close: timedelta | None = None, *, local: bool = False
    ) -> Any:
        """Run an activity by its name. ``local`` for short request/answer calls: one marker event in
        the history instead of three events and a workflow task."""
        self.publish()
        execute = workflow.execute_local_activity if local else workflow.execute_activity
        return await execute(
            call.name,
            argument,
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=schedule_to_close or self.policy.provider_call_timeout,
            retry_policy=PROVIDER_RETRY,
            result_type=call.result_type,
        )

    async def call(
        self, call: Call[Any], argument: Any, *, refusal: Status = Status.REJECTED, local: bool = False
    ) -> Any:
        """An activity whose failure ends the loan: a refusal by the provider, or the provider out of
        reach for longer than the rules allow."""
        try:
            return await self.activity(call, argument, local=local)
        except ACTIVITY_FAILURES as error:
            kind, text = failure_text(error)
            if kind == BUSINESS_ERROR:
                raise ends(refusal, f"provider refused {call.name}: {text}", cancel_at_provider=True) from None
            if kind == INVALID_DOCUMENT:
                raise ends(refusal, f"{call.name}: {text}", cancel_at_provider=True) from None
            raise ends(refusal, f"provider unavailable for {call.name}: {text}", cancel_at_provider=True) from None

    async def attach(self, documents: Documents) -> None:
        state = self.state
        assert state.debt_key and state.related_party_key
        try:
            async with self.lock:
                await self.activity(
                    ATTACH_DOCUMENTS,
                    DocumentsInput(
                        request_key=state.request_key,
                        debt_key=state.debt_key,
                        related_party_key=state.related_party_key,
                        documents=documents,
                    ),
                )
        except ACTIVITY_FAILURES as error:
            state.document_problem = failure_text(error)[1]
            self.publish()
            raise
        state.documents_attached, state.document_problem = True, None
