"""The operator actions a running loan accepts, as Workflow Updates with validators.

A validator refuses what the loan cannot take (wrong stage, bad value) before anything enters the
history; an Update whose provider call fails answers with the provider's reason and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.loan.core import ACTIVITY_FAILURES, LoanCore, failure_text

with workflow.unsafe.imports_passed_through():
    from activities.qitech.adapter import LoanActivities
    from activities.qitech.portability_enumerators import CreditOperationLeg, ProposalStatus
    from domain.calendar import SAO_PAULO, end_of_day
    from domain.loan import (
        CancelRequest,
        CollateralFix,
        Documents,
        InstallmentReduction,
        Reapresentacao,
        SignatureSubmission,
    )
    from workflows.loan.activity_models import (
        CorrectionInput,
        PortabilityReductionInput,
        ReapresentacaoInput,
        RecalculateInput,
        SignInput,
        SignLegsInput,
    )
    from workflows.loan.facts import needs_correction
    from workflows.loan.port import CAPABILITIES
    from workflows.loan.state import LoanState, OperatorAction, Stage


PAYOFF_STARTED = frozenset(
    s.value
    for s in (ProposalStatus.SETTLEMENT_SENT, ProposalStatus.PENDING_SETTLEMENT_CONFIRMATION, ProposalStatus.PAID)
)
"""A portability past these cannot be canceled: the money left for the origin bank (the provider
refuses too)."""


class LoanOperations(LoanCore):
    def _require_stage(self, *stages: Stage) -> None:
        if self._state.closed:
            raise ValueError(f"the loan is closed ({self._state.status.value})")
        if not CAPABILITIES[self._provider].webhooks:
            # A polled provider's operation is acted on at the provider (the borrower formalizes at
            # its link_form); only cancel applies here.
            raise ValueError(f"the loan is at {self._provider.value}: this action is taken at the provider")
        if self._state.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise ValueError(f"the loan is in stage {self._state.stage.value}, this action needs {wanted}")

    def _operator(self, kind: str, note: str = "") -> None:
        self._state.operator_actions.append(OperatorAction(kind=kind, at=workflow.now(), note=note))

    @staticmethod
    def _refused(action: str, error: ActivityError | ApplicationError) -> ApplicationError:
        kind, text = failure_text(error)
        return ApplicationError(f"{action} refused: {text}", type=kind or "ActionFailed", non_retryable=True)

    @workflow.update
    async def provide_documents(self, documents: Documents) -> LoanState:
        self._operator("provide_documents")
        try:
            await self._attach(documents)
        except ACTIVITY_FAILURES as error:
            raise self._refused("documents", error) from None
        return self._state

    @provide_documents.validator
    def _validate_documents(self, documents: Documents) -> None:
        self._require_stage(Stage.AWAITING_DOCUMENTS)

    @workflow.update
    async def submit_signature(self, submission: SignatureSubmission) -> LoanState:
        state = self._state
        assert state.debt_key is not None
        try:
            async with self._lock:
                if state.portability is not None:  # a portability: each leg's CCB
                    signing = SignLegsInput(
                        proposal_key=state.portability.proposal_key,
                        signing_links=state.portability.signing_links,
                        submission=submission,
                    )
                    await self._activity(LoanActivities.sign_legs, signing)
                    state.portability.legs_signed = True
                else:
                    await self._activity(LoanActivities.sign, SignInput(debt_key=state.debt_key, submission=submission))
        except ACTIVITY_FAILURES as error:
            raise self._refused("signature", error) from None
        state.signature_submitted_at = workflow.now()
        self._operator("submit_signature", f"biometry {submission.biometry_analysis_reference.value}")
        self._publish()
        return state

    @submit_signature.validator
    def _validate_signature(self, submission: SignatureSubmission) -> None:
        self._require_stage(Stage.AWAITING_SIGNATURE)
        if self._state.signature_submitted_at is not None:
            raise ValueError("the signature was already submitted")

    @workflow.update
    async def correct_collateral(self, fix: CollateralFix) -> LoanState:
        state = self._state
        assert state.debt_key is not None
        try:
            async with self._lock:
                await self._activity(
                    LoanActivities.correct_collateral,
                    CorrectionInput(
                        debt_key=state.debt_key,
                        fix=fix,
                        account_holder_name=state.corrected_name or self._request.borrower.name,
                        account_holder_cpf=self._request.borrower.cpf,
                    ),
                )
        except ACTIVITY_FAILURES as error:
            raise self._refused("collateral correction", error) from None
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
        self._operator("correct_collateral", fix.note)
        self._publish()
        return state

    @correct_collateral.validator
    def _validate_correction(self, fix: CollateralFix) -> None:
        self._require_stage(Stage.AVERBACAO, Stage.AWAITING_COLLATERAL_CORRECTION)

    @workflow.update
    async def reduce_installment(self, reduction: InstallmentReduction) -> LoanState:
        state = self._state
        assert state.debt_key is not None
        if state.portability is not None:  # the portability leg's installment (seed 002 §13)
            try:
                await self._reduce_portability(reduction.installment_value, by=f"an operator: {reduction.note}")
            except ACTIVITY_FAILURES as error:
                raise self._refused("installment reduction", error) from None
            self._publish()
            return state
        try:
            async with self._lock:
                recalculated = await self._activity(
                    LoanActivities.recalculate,
                    RecalculateInput(debt_key=state.debt_key, installment_value=reduction.installment_value),
                )
        except ACTIVITY_FAILURES as error:
            raise self._refused("installment reduction", error) from None
        state.issued_options = recalculated.options
        state.installment_value = reduction.installment_value
        state.pending_action = None
        self._operator("reduce_installment", f"{reduction.installment_value} {reduction.note}".strip())
        self._publish()
        return state

    @reduce_installment.validator
    def _validate_reduction(self, reduction: InstallmentReduction) -> None:
        self._require_stage(Stage.AWAITING_INSTALLMENT_REDUCTION)
        current = self._state.installment_value
        limit = self._rules.max_installment_reduction
        if current is not None and reduction.installment_value >= current:
            raise ValueError(f"installment_value: must be below the current {current}")
        if self._state.portability is not None:
            return  # seed 002 §13 sets no limit for the portability leg: the operator decides
        if current is not None and reduction.installment_value < current * (1 - limit):
            raise ValueError(
                f"installment_value: the provider reduces at most {(limit * 100).normalize():f} % (from {current})"
            )

    @workflow.update
    async def reapresentar(self, reapresentacao: Reapresentacao) -> LoanState:
        state = self._state
        assert state.debt_key is not None
        try:
            async with self._lock:
                await self._activity(
                    LoanActivities.change_disbursement_date,
                    ReapresentacaoInput(
                        debt_key=state.debt_key,
                        disbursement_date=reapresentacao.disbursement_date,
                        account=reapresentacao.disbursement_account,
                        account_holder_name=state.corrected_name or self._request.borrower.name,
                        account_holder_cpf=self._request.borrower.cpf,
                    ),
                )
        except ACTIVITY_FAILURES as error:
            raise self._refused("reapresentação", error) from None
        state.refusal = None
        state.reapresentacoes += 1
        self._operator("reapresentacao", f"{reapresentacao.disbursement_date} {reapresentacao.note}".strip())
        self._publish()
        return state

    @reapresentar.validator
    def _validate_reapresentacao(self, reapresentacao: Reapresentacao) -> None:
        self._require_stage(Stage.AWAITING_REAPRESENTACAO)
        today = workflow.now().astimezone(SAO_PAULO).date()
        end = self._state.disbursement_window_end
        if reapresentacao.disbursement_date < today:
            raise ValueError(f"disbursement_date: {reapresentacao.disbursement_date} is in the past")
        if end is not None and end_of_day(reapresentacao.disbursement_date) > end:
            raise ValueError(
                f"disbursement_date: {reapresentacao.disbursement_date} is after the disbursement window "
                f"(last day {(end - timedelta(days=1)).date()})"
            )

    @workflow.update
    async def cancel(self, request: CancelRequest) -> LoanState:
        self._cancel = request
        self._operator("cancel", request.reason)
        await workflow.wait_condition(lambda: self._state.stage == Stage.CLOSED)
        return self._state

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._state.closed:
            raise ValueError(f"the loan is already closed ({self._state.status.value})")
        if self._state.disbursed:
            raise ValueError("the loan was disbursed: it can no longer be canceled here")
        port = self._state.portability
        if port is not None and port.proposal_status in PAYOFF_STARTED:
            raise ValueError(f"the origin bank is being paid off ({port.proposal_status}): the portability stays")

    async def _reduce_portability(self, installment: Decimal, *, by: str) -> None:
        """The portability leg's installment lowered: a new CCB, signed again before the provider tries
        the averbação again (its answer is ``waiting_signature``)."""
        state = self._state
        facts = state.portability
        assert facts is not None
        async with self._lock:
            reduced = await self._activity(
                LoanActivities.reduce_portability_installment,
                PortabilityReductionInput(proposal_key=facts.proposal_key, installment_value=installment),
            )
        facts.installment = state.installment_value = reduced.installment_value
        facts.reductions += 1
        facts.reduction_offer = None
        facts.legs_signed, state.signature_submitted_at = False, None
        facts.signing_links = (
            {CreditOperationLeg.PORTABILITY.value: reduced.document_url} if reduced.document_url else {}
        )
        self._operator("reduce_installment", f"{reduced.installment_value} (portability leg, by {by})")
        self._enter(Stage.AWAITING_SIGNATURE)
