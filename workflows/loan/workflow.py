"""LoanWorkflow: one durable workflow per loan, from the IN100 consultation to the disbursement.

Calls go out as activities; the provider's webhooks come in as the ``provider_event`` signal
(applied by the pure facts reducer, ``workflows.loan.facts``); operators act through Workflow Updates with
validators (``workflows.loan.operator``). Every wait is bounded: consultation by its timeout, everything after
issuance by the disbursement window's durable timer. The stage logic reads facts only, so
duplicates, late and out-of-order webhooks are harmless. The rules a loan decides by are pinned in
its input (``workflows.loan.rules``).
"""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.loan.consultation import Consultation
from workflows.loan.core import (
    ACTIVITY_FAILURES,
    CALL_TIMEOUT,
    CLEANUP_TIMEOUT,
    PROVIDER_RETRY,
    HistoryTooLong,
    LoanEnds,
    ends,
    failure_text,
)
from workflows.loan.operator import LoanOperations
from workflows.loan.polling import PolledOperations
from workflows.loan.portability import PortabilityStages

with workflow.unsafe.imports_passed_through():
    from activities.qitech.adapter import LoanActivities, pin_current_rules
    from activities.qitech.mapping import requester_identifier_key
    from activities.qitech.models.webhooks import ReceivedWebhook
    from domain.calendar import SAO_PAULO, end_of_day
    from domain.loan import ProviderId
    from workflows.loan.activity_models import (
        ConfirmBalanceInput,
        DebtKeyInput,
        IssueInput,
        ReleaseInput,
        SimulateInput,
    )
    from workflows.loan.contract import LOAN_WORKFLOW, PROVIDER_EVENT_SIGNAL, STATE_QUERY, LoanInput, LoanOutcome
    from workflows.loan.decisions import eligibility, signer_mismatch
    from workflows.loan.endings import provider_already_ended
    from workflows.loan.facts import MARGIN_EXCEEDED, needs_correction, note_unknown, provider_moved_on, receive
    from workflows.loan.port import CAPABILITIES
    from workflows.loan.rules import legacy_rules
    from workflows.loan.state import LoanState, PricedOption, Stage, Status
    from workflows.loan.visibility import Publisher


RULES_PINNED_BY_WORKER = "rules-pinned-by-worker"
"""Patch: a loan started without rules pins the worker's current rules (recorded in its history);
loans started before this change keep the values they always used (``legacy_rules``)."""


# Versioning behaviour: auto-upgrade, set as the versioned worker's default (worker.py) — a loan
# lives for weeks (months behind the 90-day DDB rule), longer than any build should; so every change
# to this code goes behind workflow.patched and is proven by the replay tests. (Set here instead,
# the server refuses the workflow's tasks from a worker that runs without versioning.)
@workflow.defn(name=LOAN_WORKFLOW)
class LoanWorkflow(Consultation, PortabilityStages, LoanOperations, PolledOperations):
    @workflow.init
    def __init__(self, loan: LoanInput) -> None:
        self._request = loan.request
        self._rules = loan.rules or legacy_rules(loan.policy)
        self._provider = loan.provider or loan.request.provider or ProviderId.QITECH
        if loan.carried is not None:
            self._state = loan.carried
            self._state.runs += 1
        else:
            self._state = LoanState(request_key=loan.request.request_key, product=loan.request.product)
            # Only a loan whose routing pinned its provider names it (and publishes LoanProvider).
            self._state.provider = loan.provider.value if loan.provider else None
        self._lock = asyncio.Lock()
        self._cancel = None
        self._window_expired = False
        self._window_timer = None
        self._publisher = Publisher()

    # ================================================================ run

    @workflow.run
    async def run(self, loan: LoanInput) -> LoanOutcome:
        state = self._state
        if loan.rules is None and workflow.patched(RULES_PINNED_BY_WORKER):
            self._rules = await workflow.execute_local_activity(
                pin_current_rules, loan.policy, start_to_close_timeout=CALL_TIMEOUT, retry_policy=PROVIDER_RETRY
            )
        state.rules_name = self._rules.name
        self._start_window_timer()
        self._publish()
        while not state.closed:
            try:
                await self._advance()
            except LoanEnds as end:
                await self._close(end)
            except HistoryTooLong:
                # Not for an ending: a cancel Update waits for the close, which would wait for it.
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() or self._ending() is not None)
                if self._ending() is None:
                    workflow.continue_as_new(self._next_run())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return LoanOutcome(
            request_key=state.request_key,
            status=state.status,
            reason=state.outcome_reason,
            stage_reached=state.stage,
            debt_key=state.debt_key,
            contract_number=state.contract_number,
            rejection=state.rejection,
        )

    async def _advance(self) -> None:
        stages_before_issuance = {Stage.CONSULTATION, Stage.SIMULATION, Stage.ELIGIBILITY, Stage.ISSUANCE}
        stages = {
            Stage.CONSULTATION: self._consultation,
            Stage.SIMULATION: self._simulation,
            Stage.ELIGIBILITY: self._eligibility,
            Stage.ISSUANCE: self._issuance,
            Stage.DOCUMENTS: self._documents,
            Stage.AWAITING_DOCUMENTS: self._awaiting_documents,
            Stage.AWAITING_SIGNATURE: self._awaiting_signature,
            Stage.SIGNATURE_VALIDATION: self._signature_validation,
            Stage.MARGIN_RELEASE: self._margin_release,
            Stage.AVERBACAO: self._averbacao,
            Stage.AWAITING_COLLATERAL_CORRECTION: self._awaiting_correction,
            Stage.AWAITING_INSTALLMENT_REDUCTION: self._awaiting_reduction,
            Stage.BALANCE_RECHECK: self._balance_recheck,
            Stage.DISBURSEMENT: self._disbursement,
            Stage.AWAITING_REAPRESENTACAO: self._awaiting_reapresentacao,
        }
        self._raise_if_ending()
        if self._portability_loan and self._state.stage != Stage.CONSULTATION:
            await self._portability_step()  # the proposal's stages (workflows/loan/portability.py)
            return
        if self._polled and self._state.stage not in stages_before_issuance:
            await self._follow_operation()  # a polled provider: the operation's status says the stage
            return
        await stages[self._state.stage]()

    # ================================================================ stages

    async def _simulation(self) -> None:
        state = self._state
        argument = SimulateInput(request=self._request)
        if self._polled:
            simulated = await self._simulate_at_provider(argument)
        else:
            simulated = await self._call(LoanActivities.simulate, argument, local=True)
        if not simulated.options:
            raise ends(Status.REJECTED, "the provider's simulation returned no disbursement option")
        wanted = self._request.financial.disbursement_date
        state.chosen_option = next(
            (o for o in simulated.options if o.disbursement_date == wanted), simulated.options[0]
        )
        state.pricing_check = simulated.pricing_check
        state.installment_value = state.chosen_option.installment_value
        self._enter(Stage.ELIGIBILITY)

    async def _eligibility(self) -> None:
        state, terms = self._state, self._request.financial
        decided = eligibility(state, self._request, self._rules, workflow.now().astimezone(SAO_PAULO).date())
        if decided.problem:
            raise ends(Status.REJECTED, decided.problem)
        if decided.failures:
            if [f.rule for f in decided.failures] == ["margin_release"]:
                raise ends(Status.REJECTED, decided.failures[0].message, rejection=decided.failures)
            reason = "ineligible: " + ", ".join(f.rule for f in decided.failures)
            raise ends(Status.REJECTED, reason, rejection=decided.failures)
        state.eligibility_risks += decided.risks
        if decided.accounts is not None:
            state.disbursement_accounts = decided.accounts
        state.margin_release_at = decided.margin_release_at or state.margin_release_at
        for note in decided.notes:
            note_unknown(state, note)
        if workflow.now() >= end_of_day(terms.last_disbursement_date):
            raise ends(Status.REJECTED, f"the disbursement window ended on {terms.last_disbursement_date}")
        self._enter(Stage.ISSUANCE)

    async def _issuance(self) -> None:
        if self._polled:
            await self._create_operation()
            return
        state, edition_2 = self._state, self._rules.edition >= 2
        assert state.balance is not None
        assistance = state.balance.assistance_type
        if state.requester_identifier_key is None:
            key = self._request.request_key
            state.requester_identifier_key = requester_identifier_key(key) if edition_2 else key
        issued = await self._call(
            LoanActivities.issue_debt,
            IssueInput(
                loan_id=self._loan_id,
                request=self._request,
                assistance_type=str(assistance) if assistance is not None else None,
                requester_identifier_key=state.requester_identifier_key if edition_2 else None,
                disbursement_accounts=state.disbursement_accounts if edition_2 else None,
                politically_exposed=state.balance.politically_exposed if edition_2 else None,
                benefit_number=state.corrected_benefit_number,
            ),
            refusal=Status.REJECTED,
        )
        state.debt_key, state.contract_number = issued.debt_key, issued.contract_number
        state.related_party_key = issued.related_party_key
        state.issued_options = issued.options
        state.contract_urls, state.signers = issued.contract_urls, issued.signers
        mismatch = signer_mismatch(self._request, state.signers) if edition_2 else None
        if mismatch:
            raise ends(Status.CANCELED, mismatch, cancel_at_provider=True)
        chosen = self._option_for(issued.options)
        if chosen is not None and chosen.installment_value is not None:
            state.installment_value = chosen.installment_value
        last_option = max(
            (o.disbursement_date for o in issued.options), default=self._request.financial.last_disbursement_date
        )
        state.disbursement_window_end = end_of_day(last_option)
        self._start_window_timer()
        self._drain()
        self._enter(Stage.DOCUMENTS if self._request.documents else Stage.AWAITING_DOCUMENTS)

    def _option_for(self, options: list[PricedOption]) -> PricedOption | None:
        day = self._request.financial.disbursement_date
        return next((o for o in options if o.disbursement_date == day), options[0] if options else None)

    async def _documents(self) -> None:
        assert self._request.documents is not None
        # On failure the problem is on record, and an operator sends new documents (provide_documents).
        with contextlib.suppress(ActivityError):
            await self._attach(self._request.documents)
        self._enter(Stage.AWAITING_SIGNATURE if self._state.documents_attached else Stage.AWAITING_DOCUMENTS)

    async def _awaiting_documents(self) -> None:
        await self._wait(lambda: self._state.documents_attached)
        self._enter(Stage.AWAITING_SIGNATURE)

    async def _awaiting_signature(self) -> None:
        state = self._state
        await self._wait(lambda: state.signature_submitted_at is not None or provider_moved_on(state))
        self._enter(Stage.SIGNATURE_VALIDATION)

    async def _signature_validation(self) -> None:
        state = self._state
        await self._wait_on_provider(lambda: provider_moved_on(state), collateral=True)
        waiting_release = state.margin_release_at is not None and workflow.now() < state.margin_release_at
        self._enter(Stage.MARGIN_RELEASE if waiting_release and not state.collateral_constituted else Stage.AVERBACAO)

    async def _margin_release(self) -> None:
        state = self._state
        assert state.margin_release_at is not None
        await self._wait(lambda: state.collateral_constituted, until=state.margin_release_at)
        self._enter(Stage.AVERBACAO)

    async def _averbacao(self) -> None:
        state = self._state
        await self._wait_on_provider(
            lambda: state.collateral_constituted or state.pending_action is not None or needs_correction(state),
            collateral=True,
        )
        if state.collateral_constituted:
            self._enter(Stage.DISBURSEMENT)
        elif state.pending_action in MARGIN_EXCEEDED:
            self._enter(Stage.AWAITING_INSTALLMENT_REDUCTION)
        elif state.pending_action is not None:
            self._enter(Stage.BALANCE_RECHECK)
        else:
            deadline = workflow.now() + self._policy.correction_grace
            if state.disbursement_window_end is not None:
                deadline = min(deadline, state.disbursement_window_end)
            state.correction_deadline = deadline
            self._enter(Stage.AWAITING_COLLATERAL_CORRECTION)

    async def _awaiting_correction(self) -> None:
        state = self._state
        assert state.correction_deadline is not None
        corrected = await self._wait(
            lambda: not needs_correction(state) or state.collateral_constituted, until=state.correction_deadline
        )
        if not corrected:
            answer = state.last_dataprev
            what = f"{answer.code or ''} {answer.enumerator}".strip() if answer else "a cancel answer"
            raise ends(
                Status.CANCELED,
                f"averbação refused with {what}, not corrected by {state.correction_deadline}",
                cancel_at_provider=True,
            )
        state.correction_deadline = None
        self._enter(Stage.AVERBACAO)

    async def _awaiting_reduction(self) -> None:
        state = self._state
        await self._wait(lambda: state.pending_action is None or state.collateral_constituted)
        self._enter(Stage.AVERBACAO)

    async def _balance_recheck(self) -> None:
        state = self._state
        if state.rechecks >= self._rules.max_balance_rechecks:
            raise ends(Status.CANCELED, "averbação kept asking for a new balance consultation", cancel_at_provider=True)
        state.rechecks += 1
        created = await self._call(
            LoanActivities.request_balance, self._consultation_input(state.rechecks), refusal=Status.CANCELED
        )
        state.balance_request_keys.append(created.key)
        state.balance, state.balance_failure = None, None
        self._drain()
        deadline = workflow.now() + self._policy.consultation_timeout
        answered = await self._wait(
            lambda: state.balance is not None or state.balance_failure is not None, until=deadline
        )
        if not answered or state.balance_failure:
            why = state.balance_failure or "no answer"
            raise ends(Status.CANCELED, f"new balance consultation failed: {why}", cancel_at_provider=True)
        assert state.debt_key is not None
        await self._call(
            LoanActivities.confirm_balance_request,
            ConfirmBalanceInput(debt_key=state.debt_key, balance_request_key=created.key),
            refusal=Status.CANCELED,
        )
        state.pending_action = None
        self._enter(Stage.AVERBACAO)

    async def _disbursement(self) -> None:
        state = self._state
        await self._wait_on_provider(lambda: state.refusal is not None)
        self._enter(Stage.AWAITING_REAPRESENTACAO)

    async def _awaiting_reapresentacao(self) -> None:
        state = self._state
        await self._wait(lambda: state.refusal is None)
        self._enter(Stage.DISBURSEMENT)

    # ================================================================ the end

    async def _close(self, end: LoanEnds) -> None:
        state, ending = self._state, (await self._money_truth(end)).ending
        state.status, state.outcome_reason, state.rejection = ending.status, ending.reason, list(ending.rejection)
        if state.portability is not None:
            await self._cancel_proposal(ending)  # a portability is canceled as a proposal (both legs)
        elif ending.cancel_at_provider and state.debt_key and not CAPABILITIES[self._provider].cancel:
            # Nothing was canceled at the provider: not "canceled permanently" until someone does it there.
            state.status = Status.CANCELED
            state.outcome_reason = f"{ending.reason}; cancel it at {self._provider.value}: it has no cancel API"
        elif ending.cancel_at_provider and state.debt_key and not provider_already_ended(state):
            try:
                async with self._lock:
                    await self._activity(
                        LoanActivities.cancel_permanently, DebtKeyInput(debt_key=state.debt_key), CLEANUP_TIMEOUT
                    )
            except ACTIVITY_FAILURES as error:
                state.outcome_reason = (
                    f"{ending.reason}; the provider did not take the cancellation: {failure_text(error)[1]}"
                )
        state.stage = Stage.CLOSED
        self._publish()
        if state.known_keys() and not state.released_keys:
            await self._activity(
                LoanActivities.release_provider_keys,
                ReleaseInput(loan_id=self._loan_id, keys=sorted(state.known_keys())),
                CLEANUP_TIMEOUT,
                local=True,
            )
            state.released_keys = True

    # ================================================================ provider events and state

    @workflow.signal(name=PROVIDER_EVENT_SIGNAL)
    def provider_event(self, event: ReceivedWebhook) -> None:
        receive(self._state, event, rules=self._rules, now=workflow.now())
        self._publish()

    @workflow.query(name=STATE_QUERY)
    def query_state(self) -> LoanState:
        return self._state
