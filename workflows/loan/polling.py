"""A loan at a polled provider (``workflows.loan.port``): it is created in one call once the lender's
consultation and eligibility are done, and then followed by asking the provider on durable timers.

Why timers in the workflow, not a long-running activity with heartbeats: each poll is a short local
activity and a timer, so a worker restart loses nothing and holds no slot while the operation waits
(the borrower may take days to formalize); endings (an operator's cancel, the disbursement window)
interrupt the wait at once; the interval backs off while nothing changes (``poll_every`` doubling
up to ``poll_every_max``), so a week of waiting costs a few hundred events, and the history is
bounded by continue-as-new like every other wait. A poll that fails (the provider down) is noted
and tried again at the next interval: an outage delays the loan, it does not end it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

from workflows.loan.core import ACTIVITY_FAILURES, CALL_TIMEOUT, PROVIDER_RETRY, LoanCore, ends, failure_text

with workflow.unsafe.imports_passed_through():
    from activities.errors import BUSINESS_ERROR
    from domain.calendar import end_of_day
    from domain.loan import ProviderId
    from workflows.loan.activity_models import Simulated
    from workflows.loan.contract import LoanInput
    from workflows.loan.facts import note_unknown
    from workflows.loan.port import (
        CAPABILITIES,
        CREATE_OPERATION,
        FINAL_PHASES,
        FOLLOW_OPERATION,
        SIMULATE,
        CreateOperationInput,
        FollowInput,
        OperationFacts,
        OperationPhase,
        activity_name,
    )
    from workflows.loan.state import Stage, Status

STAGES = {
    OperationPhase.AWAITING_SIGNATURE: Stage.AWAITING_SIGNATURE,
    OperationPhase.SIGNATURE_VALIDATION: Stage.SIGNATURE_VALIDATION,
    OperationPhase.AVERBACAO: Stage.AVERBACAO,
    OperationPhase.DISBURSEMENT: Stage.DISBURSEMENT,
}


class PolledOperations(LoanCore):
    """Issuance and following at a polled provider; ``LoanWorkflow`` routes its stages here."""

    def _next_run(self) -> LoanInput:
        """The input of the loan's next run (continue-as-new): its state and its pinned choices."""
        provider = ProviderId(self._state.provider) if self._state.provider else None
        return LoanInput(
            request=self._request, rules=self._rules, policy=self._rules.policy, carried=self._state, provider=provider
        )

    @property
    def _polled(self) -> bool:
        return not CAPABILITIES[self._provider].webhooks

    async def _port(self, operation: str, argument: Any, result: type[Any], *, local: bool) -> Any:
        self._publish()
        name = activity_name(self._provider, operation)
        options: dict[str, Any] = {
            "start_to_close_timeout": CALL_TIMEOUT,
            "schedule_to_close_timeout": self._rules.policy.provider_call_timeout,
            "retry_policy": PROVIDER_RETRY,
            "result_type": result,
        }
        if local:
            return await workflow.execute_local_activity(name, argument, **options)
        return await workflow.execute_activity(name, argument, **options)

    async def _simulate_at_provider(self, argument: Any) -> Any:
        try:
            return await self._port(SIMULATE, argument, Simulated, local=True)
        except ACTIVITY_FAILURES as error:
            raise ends(
                Status.REJECTED, f"{self._provider.value} cannot price the loan: {failure_text(error)[1]}"
            ) from None

    async def _create_operation(self) -> None:
        state = self._state
        try:
            created = await self._port(
                CREATE_OPERATION,
                CreateOperationInput(
                    loan_id=self._loan_id,
                    request=self._request,
                    benefit=state.balance,
                    not_before=workflow.info().start_time.date(),
                ),
                OperationFacts,
                local=False,  # a creation can take long and must not run twice: a regular activity
            )
        except ACTIVITY_FAILURES as error:
            kind, text = failure_text(error)
            verb = "refused" if kind == BUSINESS_ERROR else "unavailable for"
            # No debt exists at the provider: nothing to cancel there.
            raise ends(Status.REJECTED, f"{self._provider.value} {verb} the operation: {text}") from None
        state.disbursement_window_end = end_of_day(self._request.financial.last_disbursement_date)
        self._start_window_timer()
        self._apply_operation(created)

    def _apply_operation(self, facts: OperationFacts) -> bool:
        """The operation's facts into the state; True when the provider's status changed."""
        state = self._state
        changed = facts.provider_status != state.provider_status
        state.debt_key = facts.debt_key
        state.contract_number = facts.contract_number or state.contract_number
        state.formalization_link = facts.formalization_link or state.formalization_link
        state.provider_status = facts.provider_status
        if facts.issue_amount is not None and state.chosen_option is not None:
            state.chosen_option = state.chosen_option.model_copy(update={"issue_amount": facts.issue_amount})
        for note in facts.notes:
            note_unknown(state, note)
        if facts.phase == OperationPhase.DISBURSED:
            state.disbursed = True
        elif facts.phase in FINAL_PHASES:
            status = Status.REJECTED if facts.phase == OperationPhase.REJECTED else Status.CANCELED
            raise ends(status, f"{self._provider.value}: {facts.provider_status or facts.phase.value}")
        elif facts.phase in STAGES:
            self._state.stage = STAGES[facts.phase]
        return changed

    async def _follow_operation(self) -> None:
        """Every stage after issuance, at a polled provider: ask, apply, wait, ask again."""
        state, policy = self._state, self._rules.policy
        interval = policy.poll_every
        while True:
            assert state.debt_key is not None
            try:
                found = await self._port(
                    FOLLOW_OPERATION, FollowInput(debt_key=state.debt_key), OperationFacts, local=True
                )
            except ACTIVITY_FAILURES as error:
                note_unknown(state, f"following the operation failed: {failure_text(error)[1]}"[:300])
                changed = False
            else:
                state.polls += 1
                changed = self._apply_operation(found)
            self._raise_if_ending()
            interval = policy.poll_every if changed else min(interval * 2, policy.poll_every_max)
            await self._wait(lambda: False, until=workflow.now() + max(interval, timedelta(seconds=1)))
