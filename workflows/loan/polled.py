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

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.calendar import end_of_day
    from domain.loan import InstallmentReduction, SignatureSubmission
    from workflows.loan.activity_models import Simulated, SimulateInput
    from workflows.loan.core import ACTIVITY_FAILURES, CALL_TIMEOUT, PROVIDER_RETRY, LoanRun, ends, failure_text
    from workflows.loan.endings import Ending
    from workflows.loan.facts import note_unknown
    from workflows.loan.new_credit import cancel_debt
    from workflows.loan.port import (
        BUSINESS_ERROR,
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
    from workflows.loan.prelude import Consultation, check_eligibility, choose_option, refuses_empty_refinancing
    from workflows.loan.state import Stage, Status

STAGES = {
    OperationPhase.AWAITING_SIGNATURE: Stage.AWAITING_SIGNATURE,
    OperationPhase.SIGNATURE_VALIDATION: Stage.SIGNATURE_VALIDATION,
    OperationPhase.AVERBACAO: Stage.AVERBACAO,
    OperationPhase.DISBURSEMENT: Stage.DISBURSEMENT,
}


class PolledJourney:
    """The lender's consultation and eligibility, then the operation created at the provider in one
    call and followed by asking; every stage after issuance is the operation's."""

    actions_at_provider = True  # the borrower formalizes at the provider's link_form; only cancel applies here

    def __init__(self, loan: LoanRun) -> None:
        self.loan = loan
        self.stages: dict[Stage, Callable[[], Awaitable[None]]] = {
            Stage.CONSULTATION: self._consultation,
            Stage.SIMULATION: self._simulation,
            Stage.ELIGIBILITY: self._eligibility,
            Stage.ISSUANCE: self._create_operation,
        }

    async def step(self) -> None:
        stage = self.stages.get(self.loan.state.stage)
        await (stage() if stage is not None else self._follow_operation())

    async def cancel_at_provider(self, ending: Ending) -> None:
        await cancel_debt(self.loan, ending)

    async def sign(self, submission: SignatureSubmission) -> None:
        raise ApplicationError("the borrower signs at the provider", non_retryable=True)  # validators refuse first

    async def reduce(self, reduction: InstallmentReduction) -> None:
        raise ApplicationError("the installment is changed at the provider", non_retryable=True)

    def check_reduction(self, reduction: InstallmentReduction) -> None:
        """Refused before this, by ``actions_at_provider``."""

    def check_cancel(self) -> None:
        """Cancel is the one action taken here (the provider has no cancel API: an operator finishes there)."""

    async def _port(self, operation: str, argument: Any, result: type[Any], *, local: bool) -> Any:
        loan = self.loan
        loan.publish()
        name = activity_name(loan.provider, operation)
        options: dict[str, Any] = {
            "start_to_close_timeout": CALL_TIMEOUT,
            "schedule_to_close_timeout": loan.policy.provider_call_timeout,
            "retry_policy": PROVIDER_RETRY,
            "result_type": result,
        }
        if local:
            return await workflow.execute_local_activity(name, argument, **options)
        return await workflow.execute_activity(name, argument, **options)

    async def _consultation(self) -> None:
        loan = self.loan
        # A lender without a consulting provider: the "Sem IN100" flow (seed 003 observação 3), the
        # provider checks the benefit itself. Not behind a patch: only a loan whose input says
        # ``in100: false`` — a field no loan recorded before it carries — takes it, so no history
        # changes; and a patch here, first checked after the admission's local activity in the same
        # workflow task, would not replay when a query rebuilds the loan.
        if not loan.in100:
            loan.enter(Stage.SIMULATION)
            return
        await Consultation(loan).run()

    async def _simulation(self) -> None:
        loan = self.loan
        try:
            refuse_empty = refuses_empty_refinancing(loan)  # before the local activity (see there)
            simulated = await self._port(SIMULATE, SimulateInput(request=loan.request), Simulated, local=True)
        except ACTIVITY_FAILURES as error:
            raise ends(
                Status.REJECTED, f"{loan.provider.value} cannot price the loan: {failure_text(error)[1]}"
            ) from None
        choose_option(loan, simulated, refuse_empty=refuse_empty)

    async def _eligibility(self) -> None:
        await check_eligibility(self.loan)

    async def _create_operation(self) -> None:
        loan, state = self.loan, self.loan.state
        try:
            created = await self._port(
                CREATE_OPERATION,
                CreateOperationInput(
                    loan_id=loan.loan_id,
                    request=loan.request,
                    benefit=state.balance,
                    not_before=workflow.info().start_time.date(),
                    in100=loan.in100,
                    priced=state.chosen_option,
                ),
                OperationFacts,
                local=False,  # a creation can take long and must not run twice: a regular activity
            )
        except ACTIVITY_FAILURES as error:
            kind, text = failure_text(error)
            verb = "refused" if kind == BUSINESS_ERROR else "unavailable for"
            # No debt exists at the provider: nothing to cancel there.
            raise ends(Status.REJECTED, f"{loan.provider.value} {verb} the operation: {text}") from None
        state.disbursement_window_end = end_of_day(loan.request.financial.last_disbursement_date)
        loan.start_window_timer()
        self._apply_operation(created)

    def _apply_operation(self, facts: OperationFacts) -> bool:
        """The operation's facts into the state; True when the provider's status changed."""
        loan, state = self.loan, self.loan.state
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
            raise ends(status, f"{loan.provider.value}: {facts.provider_status or facts.phase.value}")
        elif facts.phase in STAGES:
            state.stage = STAGES[facts.phase]
        return changed

    async def _follow_operation(self) -> None:
        """Every stage after issuance, at a polled provider: ask, apply, wait, ask again."""
        loan, state, policy = self.loan, self.loan.state, self.loan.policy
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
            loan.raise_if_ending()
            interval = policy.poll_every if changed else min(interval * 2, policy.poll_every_max)
            await loan.wait(
                lambda: False, until=workflow.now() + max(interval, timedelta(seconds=1)), summary="next poll"
            )
