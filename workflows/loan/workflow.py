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

from typing import Protocol

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from domain import ptbr
    from domain.calendar import SAO_PAULO, end_of_day
    from domain.loan import (
        CancelRequest,
        CollateralFix,
        Documents,
        InstallmentReduction,
        Product,
        Reapresentacao,
        SignatureSubmission,
    )
    from workflows.loan.activity_models import AdmissionInput, CorrectionInput, ReapresentacaoInput, ReleaseInput
    from workflows.loan.admission import read_start, request_problems, unreadable_reason
    from workflows.loan.contract import LOAN_WORKFLOW, PROVIDER_EVENT_SIGNAL, STATE_QUERY, LoanInput, LoanOutcome
    from workflows.loan.core import (
        ACTIVITY_FAILURES,
        CALL_TIMEOUT,
        CLEANUP_TIMEOUT,
        PROVIDER_RETRY,
        HistoryTooLong,
        LoanEnds,
        LoanRun,
        refused,
    )
    from workflows.loan.endings import Ending
    from workflows.loan.facts import needs_correction, receive
    from workflows.loan.new_credit import NewCreditJourney
    from workflows.loan.news import ProviderNews
    from workflows.loan.polled import PolledJourney
    from workflows.loan.port import (
        ADMIT_LOAN,
        CAPABILITIES,
        CHANGE_DISBURSEMENT_DATE,
        CORRECT_COLLATERAL,
        PIN_CURRENT_RULES,
        RELEASE_PROVIDER_KEYS,
    )
    from workflows.loan.portability import PortabilityJourney
    from workflows.loan.state import LoanState, Stage, Status
    from workflows.loan.visibility import BORROWER_CPF_HASH, LOAN_PRODUCT


RULES_PINNED_BY_WORKER = "rules-pinned-by-worker"
"""Patch: a loan started without rules pins the worker's current rules (recorded in its history);
loans started before this change keep the values they always used (``legacy_rules``)."""

ADMITTED_BY_WORKER = "admitted-by-worker"
"""Patch: a loan started without a provider (a CLI, Go or TypeScript caller) is routed by the worker,
its CPF hash and product published, and its request checked as the starter would (``admission``)."""


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
        if not self._start.readable:
            return self._rejected_at_start(unreadable_reason(self._start.errors))
        refusal = await self._admit(loan) if loan.carried is None else None
        if refusal is not None:
            return self._rejected_at_start(refusal)
        if loan.rules is None and workflow.patched(RULES_PINNED_BY_WORKER):
            run.rules = await workflow.execute_local_activity(
                PIN_CURRENT_RULES.name,
                loan.policy,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=PROVIDER_RETRY,
                result_type=PIN_CURRENT_RULES.result_type,
            )
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
        return self._outcome()

    def _outcome(self) -> LoanOutcome:
        state = self._loan.state
        return LoanOutcome(
            request_key=state.request_key,
            status=state.status,
            reason=state.outcome_reason,
            stage_reached=state.stage,
            debt_key=state.debt_key,
            contract_number=state.contract_number,
            rejection=state.rejection,
        )

    async def _admit(self, loan: LoanInput) -> str | None:
        """What the starter does for a Python caller, done here for the others: route the loan, publish
        its product and CPF hash, check what JSON Schema cannot. None: admitted."""
        started = workflow.info().typed_search_attributes
        route = loan.provider is None and loan.request.provider is None
        hash_cpf = started.get(BORROWER_CPF_HASH) is None
        if not (route or hash_cpf or started.get(LOAN_PRODUCT) is None) or not workflow.patched(ADMITTED_BY_WORKER):
            return None  # the Python starter did it all (loans started before this change: the same)
        problems = request_problems(loan.request, workflow.now().astimezone(SAO_PAULO).date())
        if problems:
            return "; ".join(str(p) for p in problems)
        admitted = await workflow.execute_local_activity(
            ADMIT_LOAN.name,
            AdmissionInput(request=loan.request, route=route, hash_cpf=hash_cpf),
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=PROVIDER_RETRY,
            result_type=ADMIT_LOAN.result_type,
        )
        if admitted.refusal is not None:
            return f"provider: {admitted.refusal}"
        if admitted.provider is not None:
            self._loan.provider = admitted.provider
            self._loan.state.provider = admitted.provider.value
            self._journey = journey_for(self._loan)
        pairs = [LOAN_PRODUCT.value_set(loan.request.product.value)]
        if admitted.cpf_hash is not None:
            pairs.append(BORROWER_CPF_HASH.value_set(admitted.cpf_hash))
        workflow.upsert_search_attributes(pairs)
        return None

    def _rejected_at_start(self, reason: str) -> LoanOutcome:
        """A start that cannot be a loan: rejected at once, nothing asked of any provider."""
        state = self._loan.state
        state.status, state.outcome_reason, state.stage = Status.REJECTED, reason, Stage.CLOSED
        self._loan.publish()
        return self._outcome()

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
        try:
            await self._loan.attach(documents)
        except ACTIVITY_FAILURES as error:
            raise refused("documents", error) from None
        return self._loan.state

    @provide_documents.validator
    def _validate_documents(self, documents: Documents) -> None:
        if self._loan.repeats("provide_documents", documents):
            return  # a retry: it gets the first call's outcome
        self._require_stage(Stage.AWAITING_DOCUMENTS)

    @workflow.update
    async def submit_signature(self, submission: SignatureSubmission) -> LoanState:
        return await self._loan.once("submit_signature", submission, lambda: self._submit_signature(submission))

    async def _submit_signature(self, submission: SignatureSubmission) -> LoanState:
        run, state = self._loan, self._loan.state
        assert state.debt_key is not None
        try:
            async with run.lock:
                await self._journey.sign(submission)
        except ACTIVITY_FAILURES as error:
            raise refused("signature", error) from None
        state.signature_submitted_at = workflow.now()
        run.operator("submit_signature", f"biometry {submission.biometry_analysis_reference.value}")
        run.publish()
        return state

    @submit_signature.validator
    def _validate_signature(self, submission: SignatureSubmission) -> None:
        if self._loan.repeats("submit_signature", submission):
            return  # a retry: it gets the first call's outcome
        self._require_stage(Stage.AWAITING_SIGNATURE)
        if self._loan.state.signature_submitted_at is not None:
            raise ValueError("the signature was already submitted")

    @workflow.update
    async def correct_collateral(self, fix: CollateralFix) -> LoanState:
        return await self._loan.once("correct_collateral", fix, lambda: self._correct_collateral(fix))

    async def _correct_collateral(self, fix: CollateralFix) -> LoanState:
        run, state = self._loan, self._loan.state
        assert state.debt_key is not None
        try:
            async with run.lock:
                await run.activity(
                    CORRECT_COLLATERAL,
                    CorrectionInput(
                        debt_key=state.debt_key,
                        fix=fix,
                        account_holder_name=state.corrected_name or run.request.borrower.name,
                        account_holder_cpf=run.request.borrower.cpf,
                        answered_at=state.last_dataprev.at if needs_correction(state) and state.last_dataprev else None,
                    ),
                )
        except ACTIVITY_FAILURES as error:
            raise refused("collateral correction", error) from None
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
        run.operator("correct_collateral", fix.note)
        run.publish()
        return state

    @correct_collateral.validator
    def _validate_correction(self, fix: CollateralFix) -> None:
        if self._loan.repeats("correct_collateral", fix):
            return  # a retry: it gets the first call's outcome
        self._require_stage(Stage.AVERBACAO, Stage.AWAITING_COLLATERAL_CORRECTION)

    @workflow.update
    async def reduce_installment(self, reduction: InstallmentReduction) -> LoanState:
        return await self._loan.once("reduce_installment", reduction, lambda: self._reduce_installment(reduction))

    async def _reduce_installment(self, reduction: InstallmentReduction) -> LoanState:
        state = self._loan.state
        assert state.debt_key is not None
        try:
            await self._journey.reduce(reduction)
        except ACTIVITY_FAILURES as error:
            raise refused("installment reduction", error) from None
        self._loan.publish()
        return state

    @reduce_installment.validator
    def _validate_reduction(self, reduction: InstallmentReduction) -> None:
        if self._loan.repeats("reduce_installment", reduction):
            return  # a retry: it gets the first call's outcome
        self._require_stage(Stage.AWAITING_INSTALLMENT_REDUCTION)
        current = self._loan.state.installment_value
        if current is not None and reduction.installment_value >= current:
            raise ValueError(f"installment_value: must be below the current {current}")
        self._journey.check_reduction(reduction)

    @workflow.update
    async def reapresentar(self, reapresentacao: Reapresentacao) -> LoanState:
        return await self._loan.once("reapresentar", reapresentacao, lambda: self._reapresentar(reapresentacao))

    async def _reapresentar(self, reapresentacao: Reapresentacao) -> LoanState:
        run, state = self._loan, self._loan.state
        assert state.debt_key is not None
        try:
            async with run.lock:
                await run.activity(
                    CHANGE_DISBURSEMENT_DATE,
                    ReapresentacaoInput(
                        debt_key=state.debt_key,
                        disbursement_date=reapresentacao.disbursement_date,
                        account=reapresentacao.disbursement_account,
                        account_holder_name=state.corrected_name or run.request.borrower.name,
                        account_holder_cpf=run.request.borrower.cpf,
                    ),
                )
        except ACTIVITY_FAILURES as error:
            raise refused("reapresentação", error) from None
        state.refusal = None
        state.reapresentacoes += 1
        run.operator("reapresentacao", f"{reapresentacao.disbursement_date} {reapresentacao.note}".strip())
        run.publish()
        return state

    @reapresentar.validator
    def _validate_reapresentacao(self, reapresentacao: Reapresentacao) -> None:
        if self._loan.repeats("reapresentar", reapresentacao):
            return  # a retry: it gets the first call's outcome
        self._require_stage(Stage.AWAITING_REAPRESENTACAO)
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
        self._loan.operator("cancel", request.reason)
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
