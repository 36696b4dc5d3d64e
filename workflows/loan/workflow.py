"""LoanWorkflow: one durable workflow per loan, from the IN100 consultation to the disbursement.

It chooses once which journey the loan takes — new credit at a webhook provider
(``workflows.loan.new_credit``), a portability (``workflows.loan.portability``) or a loan at a polled
provider (``workflows.loan.polled``) — and keeps what every journey shares: the run loop, the ending,
the operators' Updates (with validators) and the provider's news (the ``provider_event`` signal,
applied by the pure facts reducer). Every wait is bounded: consultation by its timeout, everything
after issuance by the disbursement window's durable timer. The rules a loan decides by are pinned in
its input (``workflows.loan.rules``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Protocol

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import ptbr
    from domain.calendar import SAO_PAULO, end_of_day
    from domain.loan import (
        CancelRequest,
        ChangeApproval,
        CollateralFix,
        Documents,
        InstallmentReduction,
        Product,
        Reapresentacao,
        SignatureSubmission,
        VerifiedOperator,
    )
    from workflows.loan import approvals
    from workflows.loan.activity_models import CorrectionInput, ReapresentacaoInput, ReleaseInput
    from workflows.loan.admission import read_start, unreadable_reason
    from workflows.loan.contract import LOAN_WORKFLOW, PROVIDER_EVENT_SIGNAL, STATE_QUERY, LoanOutcome
    from workflows.loan.core import (
        ACTIVITY_FAILURES,
        CLEANUP_TIMEOUT,
        HistoryTooLong,
        LoanEnds,
        LoanRun,
        refused,
    )
    from workflows.loan.endings import Ending
    from workflows.loan.facts import needs_correction, receive
    from workflows.loan.intake import admit, pin_rules, pins_rules
    from workflows.loan.new_credit import NewCreditJourney
    from workflows.loan.news import ProviderNews
    from workflows.loan.polled import PolledJourney
    from workflows.loan.port import (
        CAPABILITIES,
        CHANGE_DISBURSEMENT_DATE,
        CORRECT_COLLATERAL,
        RELEASE_PROVIDER_KEYS,
    )
    from workflows.loan.portability import PortabilityJourney
    from workflows.loan.state import LoanState, Stage, Status


CORRECTION_STAGES = (Stage.AVERBACAO, Stage.AWAITING_COLLATERAL_CORRECTION)


class Journey(Protocol):
    """What a kind of loan does its own way; everything else is the workflow's."""

    actions_at_provider: bool  # operators act at the provider (only cancel goes through the loan)

    async def step(self) -> None: ...
    async def cancel_at_provider(self, ending: Ending) -> None: ...
    async def sign(self, submission: SignatureSubmission) -> None: ...
    async def reduce(self, reduction: InstallmentReduction) -> None: ...
    def check_reduction(self, reduction: InstallmentReduction) -> None: ...
    def check_cancel(self) -> None: ...


def journey_for(loan: LoanRun) -> Journey:
    if loan.request.product == Product.PORTABILITY:
        return PortabilityJourney(loan)
    if not CAPABILITIES[loan.provider].webhooks:
        return PolledJourney(loan)
    return NewCreditJourney(loan)


# Versioning behaviour: auto-upgrade, set as the versioned worker's default (worker.py) — a loan
# lives for weeks (months behind the 90-day DDB rule), longer than any build should; so every change
# to this code goes behind workflow.patched and is proven by the replay tests. (Set here instead,
# the server refuses the workflow's tasks from a worker that runs without versioning.)
@workflow.defn(name=LOAN_WORKFLOW)
class LoanWorkflow:
    # The start is read by the loan itself (a RawValue, not a typed LoanInput): a start the worker cannot
    # read ends the loan as rejected naming the field, where a typed input would fail the first workflow
    # task forever. The payload is the same JSON either way, so recorded histories replay unchanged.
    @workflow.init
    def __init__(self, start: RawValue) -> None:
        self._start = read_start(workflow.payload_converter().from_payload(start.payload), workflow.info().workflow_id)
        self._loan = LoanRun(self._start.loan)
        self._journey = journey_for(self._loan)

    # ================================================================ run

    @workflow.run
    async def run(self, start: RawValue) -> LoanOutcome:
        run, state, loan = self._loan, self._loan.state, self._start.loan
        # Every patch this run may ask after a local activity is asked here, before the first one.
        run.decide_patches()
        pins = pins_rules(loan)
        if not self._start.readable:
            return await self._rejected_at_start(unreadable_reason(self._start.errors))
        if loan.carried is None:
            refusal, routed = await admit(run, loan)
            if refusal is not None:
                return await self._rejected_at_start(refusal)
            if routed:
                self._journey = journey_for(run)
        await pin_rules(run, loan, pins)
        state.rules_name = run.rules.name
        run.start_window_timer()
        run.publish()
        while not state.closed:
            try:
                run.raise_if_ending()
                await self._journey.step()
            except LoanEnds as end:
                await self._close(end)
            except HistoryTooLong:
                # Not for an ending: a cancel Update waits for the close, which would wait for it.
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() or run.ending() is not None)
                if run.ending() is None:
                    workflow.continue_as_new(run.next_run())
        await workflow.wait_condition(workflow.all_handlers_finished)
        await run.teller.recorded(state)  # the sales channel's last events, in the outbox before the loan completes
        return LoanOutcome.of(self._loan.state)

    async def _rejected_at_start(self, reason: str) -> LoanOutcome:
        """A start that cannot be a loan: rejected at once, nothing asked of any provider."""
        state = self._loan.state
        state.status, state.outcome_reason, state.stage = Status.REJECTED, reason, Stage.CLOSED
        self._loan.publish()
        await self._loan.teller.recorded(state)  # the sales channel is told of the rejection too
        return LoanOutcome.of(self._loan.state)

    async def _close(self, end: LoanEnds) -> None:
        run, state = self._loan, self._loan.state
        ending = (await run.money_truth(end)).ending
        state.status, state.outcome_reason, state.rejection = ending.status, ending.reason, list(ending.rejection)
        await self._journey.cancel_at_provider(ending)
        state.stage = Stage.CLOSED
        run.publish()
        if state.known_keys() and not state.released_keys:
            await run.activity(
                RELEASE_PROVIDER_KEYS,
                ReleaseInput(loan_id=run.loan_id, keys=sorted(state.known_keys())),
                CLEANUP_TIMEOUT,
                local=True,
            )
            state.released_keys = True

    # ================================================================ provider news and state

    @workflow.signal(name=PROVIDER_EVENT_SIGNAL)
    def provider_event(self, news: ProviderNews) -> None:
        receive(self._loan.state, news, rules=self._loan.rules, now=workflow.now())
        self._loan.publish()

    @workflow.query(name=STATE_QUERY)
    def query_state(self) -> LoanState:
        return self._loan.state

    # ================================================================ operators' Updates
    # A validator refuses what the loan cannot take (wrong stage, bad value) before anything enters the
    # history; an Update whose provider call fails answers with the provider's reason and changes nothing.
    # Each is taken once per argument (LoanRun.once): a client's retry never calls the provider again.

    async def _at_provider(self, action: str, act: Callable[[], Awaitable[object]], *, locked: bool = True) -> None:
        """An operator's call at the provider, under the loan's lock unless told not (nothing else talks
        to the provider meanwhile); its failure refuses the Update with the provider's reason."""
        try:
            async with self._loan.lock if locked else nullcontext():
                await act()
        except ACTIVITY_FAILURES as error:
            raise refused(action, error) from None

    def _taken(self, action: str, note: str, by: VerifiedOperator | None) -> LoanState:
        """An operator's action done: recorded, published; the loan's state answers the Update."""
        self._loan.operator(action, note, by=by)
        self._loan.publish()
        return self._loan.state

    def _admits(self, update: str, argument: BaseModel, *stages: Stage) -> bool:
        """False for a retry (the same argument again: it gets the first call's outcome, nothing to
        check); otherwise the loan must be open, its actions ours, and in one of ``stages``."""
        if self._loan.repeats(update, argument):
            return False
        self._require_stage(*stages)
        return True

    def _require_stage(self, *stages: Stage) -> None:
        state = self._loan.state
        if state.closed:
            raise ValueError(f"the loan is closed ({state.status.value})")
        if self._journey.actions_at_provider:
            raise ValueError(f"the loan is at {self._loan.provider.value}: this action is taken at the provider")
        if state.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise ValueError(f"the loan is in stage {state.stage.value}, this action needs {wanted}")

    @workflow.update
    async def provide_documents(self, documents: Documents) -> LoanState:
        return await self._loan.once("provide_documents", documents, lambda: self._provide_documents(documents))

    async def _provide_documents(self, documents: Documents) -> LoanState:
        self._loan.operator("provide_documents")
        await self._at_provider("documents", lambda: self._loan.attach(documents), locked=False)
        return self._loan.state

    @provide_documents.validator
    def _validate_documents(self, documents: Documents) -> None:
        self._admits("provide_documents", documents, Stage.AWAITING_DOCUMENTS)

    @workflow.update
    async def submit_signature(self, submission: SignatureSubmission) -> LoanState:
        return await self._loan.once("submit_signature", submission, lambda: self._submit_signature(submission))

    async def _submit_signature(self, submission: SignatureSubmission) -> LoanState:
        assert self._loan.state.debt_key is not None
        await self._at_provider("signature", lambda: self._journey.sign(submission))
        self._loan.state.signature_submitted_at = workflow.now()
        biometry = submission.biometry_analysis_reference.value
        return self._taken("submit_signature", f"biometry {biometry}", submission.verified_operator)

    @submit_signature.validator
    def _validate_signature(self, submission: SignatureSubmission) -> None:
        if not self._admits("submit_signature", submission, Stage.AWAITING_SIGNATURE):
            return
        if self._loan.state.signature_submitted_at is not None:
            raise ValueError("the signature was already submitted")

    @workflow.update
    async def correct_collateral(self, fix: CollateralFix) -> LoanState:
        return await self._loan.once("correct_collateral", fix, lambda: self._correct_or_propose(fix))

    async def _correct_or_propose(self, fix: CollateralFix) -> LoanState:
        if fix.disbursement_account is not None and workflow.patched(approvals.MAKER_CHECKER):
            return approvals.propose(self._loan, "correct_collateral", fix.verified_operator, fix=fix)
        return await self._correct_collateral(fix)

    async def _correct_collateral(self, fix: CollateralFix, approved_by: VerifiedOperator | None = None) -> LoanState:
        run, state = self._loan, self._loan.state
        assert state.debt_key is not None
        debt_key = state.debt_key

        async def correct() -> None:
            answered = state.last_dataprev.at if needs_correction(state) and state.last_dataprev else None
            holder = state.corrected_name or run.request.borrower.name
            await run.activity(
                CORRECT_COLLATERAL,
                CorrectionInput(
                    debt_key=debt_key,
                    fix=fix,
                    account_holder_name=holder,
                    account_holder_cpf=run.request.borrower.cpf,
                    answered_at=answered,
                ),
            )

        await self._at_provider("collateral correction", correct)
        state.corrections += 1
        # What the provider now holds is what every later call must send (rechecks, reapresentação).
        if fix.benefit_number:
            state.corrected_benefit_number = fix.benefit_number
        if fix.name:
            state.corrected_name = fix.name
        if fix.disbursement_account:
            state.disbursement_accounts = [fix.disbursement_account]
        if needs_correction(state) and state.last_dataprev is not None:
            state.last_dataprev = state.last_dataprev.model_copy(update={"action": "corrected"})
        return self._taken("correct_collateral", approvals.approved(fix.note, approved_by), fix.verified_operator)

    @correct_collateral.validator
    def _validate_correction(self, fix: CollateralFix) -> None:
        if self._admits("correct_collateral", fix, *CORRECTION_STAGES) and fix.disbursement_account is not None:
            approvals.check_proposal(self._loan.state, fix.verified_operator)

    # ------------------------------------------------ maker-checker: where the money goes

    @workflow.update
    async def approve_change(self, approval: ChangeApproval) -> LoanState:
        return await self._loan.once("approve_change", approval, lambda: self._approve_change(approval))

    async def _approve_change(self, approval: ChangeApproval) -> LoanState:
        pending = approvals.decide(self._loan, approval)
        if pending is None:
            return self._loan.state
        try:
            if pending.fix is not None:
                return await self._correct_collateral(pending.fix, approved_by=approval.verified_operator)
            assert pending.reapresentacao is not None
            return await self._reapresentar(pending.reapresentacao, approved_by=approval.verified_operator)
        except BaseException:
            approvals.forget(self._loan, pending)  # refused by the provider: the maker may propose again
            raise

    @approve_change.validator
    def _validate_approval(self, approval: ChangeApproval) -> None:
        if self._loan.repeats("approve_change", approval):
            return  # a retry: it gets the first call's outcome
        pending = approvals.check_approval(self._loan.state, approval)
        if pending is not None and pending.fix is not None:
            self._require_stage(*CORRECTION_STAGES)
        if pending is not None and pending.reapresentacao is not None:
            self._require_stage(Stage.AWAITING_REAPRESENTACAO)
            self._check_reapresentacao(pending.reapresentacao)

    @workflow.update
    async def reduce_installment(self, reduction: InstallmentReduction) -> LoanState:
        return await self._loan.once("reduce_installment", reduction, lambda: self._reduce_installment(reduction))

    async def _reduce_installment(self, reduction: InstallmentReduction) -> LoanState:
        state = self._loan.state
        assert state.debt_key is not None
        await self._at_provider("installment reduction", lambda: self._journey.reduce(reduction), locked=False)
        self._loan.publish()
        return state

    @reduce_installment.validator
    def _validate_reduction(self, reduction: InstallmentReduction) -> None:
        if not self._admits("reduce_installment", reduction, Stage.AWAITING_INSTALLMENT_REDUCTION):
            return
        current = self._loan.state.installment_value
        if current is not None and reduction.installment_value >= current:
            raise ValueError(f"installment_value: must be below the current {current}")
        self._journey.check_reduction(reduction)

    @workflow.update
    async def reapresentar(self, reapresentacao: Reapresentacao) -> LoanState:
        return await self._loan.once(
            "reapresentar", reapresentacao, lambda: self._reapresentar_or_propose(reapresentacao)
        )

    async def _reapresentar_or_propose(self, reapresentacao: Reapresentacao) -> LoanState:
        if reapresentacao.disbursement_account is not None and workflow.patched(approvals.MAKER_CHECKER):
            return approvals.propose(
                self._loan, "reapresentar", reapresentacao.verified_operator, reapresentacao=reapresentacao
            )
        return await self._reapresentar(reapresentacao)

    async def _reapresentar(
        self, reapresentacao: Reapresentacao, approved_by: VerifiedOperator | None = None
    ) -> LoanState:
        run, state = self._loan, self._loan.state
        assert state.debt_key is not None
        debt_key = state.debt_key

        async def change_date() -> None:
            holder = state.corrected_name or run.request.borrower.name
            await run.activity(
                CHANGE_DISBURSEMENT_DATE,
                ReapresentacaoInput(
                    debt_key=debt_key,
                    disbursement_date=reapresentacao.disbursement_date,
                    account=reapresentacao.disbursement_account,
                    account_holder_name=holder,
                    account_holder_cpf=run.request.borrower.cpf,
                ),
            )

        await self._at_provider("reapresentação", change_date)
        state.refusal = None
        state.reapresentacoes += 1
        note = approvals.approved(f"{reapresentacao.disbursement_date} {reapresentacao.note}".strip(), approved_by)
        return self._taken("reapresentacao", note, reapresentacao.verified_operator)

    @reapresentar.validator
    def _validate_reapresentacao(self, reapresentacao: Reapresentacao) -> None:
        if not self._admits("reapresentar", reapresentacao, Stage.AWAITING_REAPRESENTACAO):
            return
        self._check_reapresentacao(reapresentacao)
        if reapresentacao.disbursement_account is not None:
            approvals.check_proposal(self._loan.state, reapresentacao.verified_operator)

    def _check_reapresentacao(self, reapresentacao: Reapresentacao) -> None:
        today = workflow.now().astimezone(SAO_PAULO).date()
        end = self._loan.state.disbursement_window_end
        if reapresentacao.disbursement_date < today:
            raise ValueError(f"disbursement_date: {ptbr.day(reapresentacao.disbursement_date)} is in the past")
        if end is not None and end_of_day(reapresentacao.disbursement_date) > end:
            raise ValueError(
                f"disbursement_date: {ptbr.day(reapresentacao.disbursement_date)} is after the disbursement "
                f"window ({ptbr.last_disbursement_day(end)})"
            )

    @workflow.update
    async def cancel(self, request: CancelRequest) -> LoanState:
        return await self._loan.once("cancel", request, lambda: self._cancel(request))

    async def _cancel(self, request: CancelRequest) -> LoanState:
        self._loan.cancel = request
        self._loan.operator("cancel", request.reason, by=request.verified_operator, claimed=request.operator)
        await workflow.wait_condition(lambda: self._loan.state.stage == Stage.CLOSED)
        return self._loan.state

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._loan.repeats("cancel", request):
            return  # a retry: it gets the first call's outcome
        state = self._loan.state
        if state.closed:
            raise ValueError(f"the loan is already closed ({state.status.value})")
        if state.disbursed:
            raise ValueError("the loan was disbursed: it can no longer be canceled here")
        self._journey.check_cancel()
