"""LoanWorkflow: one durable workflow per loan, from the IN100 consultation to the disbursement.

Calls go out as activities; the provider's webhooks come in as the ``provider_event`` signal
(forwarded by the key mailboxes); operators act through Workflow Updates with validators. Every
wait is bounded: consultation by its timeout, everything after issuance by the disbursement
window's durable timer. Events are applied once, by identity, and only change *facts* in the
state; the stage logic reads the facts, so duplicates, late and out-of-order webhooks are harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import BUSINESS_ERROR, INVALID_DOCUMENT
    from activities.models import (
        ConfirmBalanceInput,
        ConsultationInput,
        CorrectionInput,
        DebtKeyInput,
        DocumentsInput,
        IssueInput,
        ReapresentacaoInput,
        RecalculateInput,
        ReleaseInput,
        SignInput,
        SimulateInput,
    )
    from activities.provider_calls import LoanActivities
    from domain.calendar import end_of_day
    from domain.eligibility import EligibilityFacts, evaluate
    from domain.loan import (
        CancelRequest,
        CollateralFix,
        Documents,
        InstallmentReduction,
        Reapresentacao,
        SignatureSubmission,
    )
    from domain.margin_release import margin_release
    from domain.regulation import DDB_BLOCK_DAYS
    from provider.enumerators import (
        AVERBACAO_ERRORS,
        DISBURSEMENT_SUCCESS_STATUSES,
        CancelReason,
        ConsultationStatus,
        DebtStatus,
        LenderAction,
        PendingRequesterAction,
        averbacao_action,
        averbacao_return,
    )
    from provider.models.consultation import BalanceData, ConsultationFailure
    from provider.models.webhooks import (
        BalanceRequestWebhook,
        BenefitsRequestWebhook,
        CollateralWebhook,
        DebtWebhook,
        PendingRequesterActionWebhook,
        ReceivedWebhook,
    )
    from provider.tolerant import SAO_PAULO, Unknown, unknown_values
    from workflows.describe import describe
    from workflows.mailbox_contract import LOAN_EVENT_SIGNAL
    from workflows.search import (
        DATAPREV_LAST_ANSWER,
        DISBURSEMENT_WINDOW_END,
        LOAN_STAGE,
        LOAN_STATUS,
        MARGIN_RELEASE_AT,
        PROVIDER_DEBT_KEY,
    )
    from workflows.state import (
        DataprevAnswer,
        EventRecord,
        LoanInput,
        LoanOutcome,
        LoanState,
        OperatorAction,
        PricedOption,
        RuleFailure,
        Stage,
        Status,
    )

PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[BUSINESS_ERROR, INVALID_DOCUMENT],
)
CALL_TIMEOUT = timedelta(seconds=60)
CLEANUP_TIMEOUT = timedelta(days=1)
MAX_EVENT_RECORDS = 200
MAX_RECHECKS = 3
REFUSALS = {CancelReason.TED_REFUSAL.value, CancelReason.PIX_REFUSAL.value}
MARGIN_EXCEEDED = {
    PendingRequesterAction.MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY.value,
    PendingRequesterAction.MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE.value,
}
DATAPREV_CODES = {row.enumerator: row.code for row in AVERBACAO_ERRORS}


class _End(Exception):
    """The loan ends here, with this status and reason."""

    def __init__(
        self,
        status: Status,
        reason: str | None,
        *,
        cancel_at_provider: bool = False,
        rejection: list[RuleFailure] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.cancel_at_provider = cancel_at_provider
        self.rejection = rejection or []


class _ContinueAsNew(Exception):
    """History is long enough: carry the state into a fresh run at a safe point."""


def _failure_text(error: ActivityError) -> tuple[str | None, str]:
    """(error type, readable text with the provider's code) of a failed activity."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        code = details.get("code")
        text = f"{code}: {details.get('description') or cause.message}" if code else cause.message
        return cause.type, text
    return None, str(cause or error)


@workflow.defn
class LoanWorkflow:
    @workflow.init
    def __init__(self, payload: LoanInput) -> None:
        self._request = payload.request
        self._policy = payload.policy
        if payload.carried is not None:
            self._state = payload.carried
            self._state.runs += 1
        else:
            self._state = LoanState(request_key=payload.request.request_key, product=payload.request.product)
        self._lock = asyncio.Lock()
        self._cancel: CancelRequest | None = None
        self._window_expired = False
        self._window_timer: asyncio.Task[None] | None = None
        self._published: dict[str, Any] = {}

    # ================================================================ run

    @workflow.run
    async def run(self, payload: LoanInput) -> LoanOutcome:
        state = self._state
        self._start_window_timer()
        self._publish()
        while not state.closed:
            try:
                await self._advance()
            except _End as end:
                await self._close(end)
            except _ContinueAsNew:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(LoanInput(request=self._request, policy=self._policy, carried=state))
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
        await stages[self._state.stage]()

    # ================================================================ stages

    async def _consultation(self) -> None:
        state, policy = self._state, self._policy
        if state.consultation_deadline is None:
            state.consultation_deadline = workflow.now() + policy.consultation_timeout
        deadline = self._deadline_timer(state.consultation_deadline, "consultation deadline")
        if state.benefits_request_key is None:
            created = await self._call(
                LoanActivities.request_benefits, ConsultationInput(loan_id=self._loan_id, request=self._request)
            )
            state.benefits_request_key = created.key
            self._drain()
        await self._wait(
            lambda: state.listed_benefits is not None or state.consultation_failure is not None or deadline.done()
        )
        if state.listed_benefits is None and state.consultation_failure is None:
            raise _End(Status.REJECTED, f"consultation_timeout: no benefits answer by {state.consultation_deadline}")
        if state.consultation_failure:
            raise _End(Status.REJECTED, f"benefits request failed: {state.consultation_failure}")
        if not state.balance_request_keys:
            created = await self._call(
                LoanActivities.request_balance, ConsultationInput(loan_id=self._loan_id, request=self._request)
            )
            state.balance_request_keys.append(created.key)
            self._drain()
        await self._wait(lambda: state.balance is not None or state.balance_failure is not None or deadline.done())
        if state.balance is None and state.balance_failure is None:
            raise _End(Status.REJECTED, f"consultation_timeout: no balance answer by {state.consultation_deadline}")
        deadline.cancel()
        if state.balance_failure:
            raise _End(Status.REJECTED, f"balance request failed: {state.balance_failure}")
        self._enter(Stage.SIMULATION)

    async def _simulation(self) -> None:
        state = self._state
        simulated = await self._call(LoanActivities.simulate, SimulateInput(request=self._request), local=True)
        if not simulated.options:
            raise _End(Status.REJECTED, "the provider's simulation returned no disbursement option")
        wanted = self._request.financial.disbursement_date
        state.chosen_option = next(
            (o for o in simulated.options if o.disbursement_date == wanted), simulated.options[0]
        )
        state.pricing_check = simulated.pricing_check
        state.installment_value = state.chosen_option.installment_value
        self._enter(Stage.ELIGIBILITY)

    async def _eligibility(self) -> None:
        state, request = self._state, self._request
        chosen, balance = state.chosen_option, state.balance
        assert chosen is not None and balance is not None
        terms = request.financial
        installment = chosen.installment_value or terms.installment_value
        monthly_rate = chosen.monthly_rate or terms.monthly_interest_rate
        if installment is None or monthly_rate is None:
            raise _End(Status.REJECTED, "the provider's simulation gave no installment or rate to check")
        facts = EligibilityFacts(
            benefit_number=request.benefit.number,
            listed_benefits=tuple(state.listed_benefits or ()),
            balance=balance,
            installment=installment,
            monthly_rate=monthly_rate,
            number_of_installments=terms.number_of_installments,
            last_installment_date=chosen.last_due_date or terms.first_due_date,
            has_legal_representative=request.legal_representative is not None,
            has_judicial_authorization=bool(
                request.legal_representative and request.legal_representative.judicial_authorization
            ),
        )
        failures = [RuleFailure(rule=f.rule, message=f.message, source=f.source) for f in evaluate(facts)]
        if failures:
            raise _End(Status.REJECTED, "ineligible: " + ", ".join(f.rule for f in failures), rejection=failures)
        today = workflow.now().astimezone(SAO_PAULO).date()
        if isinstance(balance.grant_date, date) and not isinstance(balance.grant_date, Unknown):
            decision = margin_release(balance.grant_date, today, terms.last_disbursement_date)
            if not decision.allowed:
                rule = RuleFailure(rule="margin_release", message=decision.message, source=DDB_BLOCK_DAYS.source)
                raise _End(Status.REJECTED, decision.message, rejection=[rule])
            if decision.blocked_today:
                state.margin_release_at = datetime.combine(decision.release_date, time(0), tzinfo=SAO_PAULO)
        else:
            self._note_unknown("balance.grant_date (DDB) missing: the 90-day rule is left to the provider")
        if workflow.now() >= end_of_day(terms.last_disbursement_date):
            raise _End(Status.REJECTED, f"the disbursement window ended on {terms.last_disbursement_date}")
        self._enter(Stage.ISSUANCE)

    async def _issuance(self) -> None:
        state = self._state
        assert state.balance is not None
        assistance = state.balance.assistance_type
        issued = await self._call(
            LoanActivities.issue_debt,
            IssueInput(
                loan_id=self._loan_id,
                request=self._request,
                assistance_type=str(assistance) if assistance is not None else None,
            ),
            refusal=Status.REJECTED,
        )
        state.debt_key, state.contract_number = issued.debt_key, issued.contract_number
        state.related_party_key = issued.related_party_key
        state.issued_options = issued.options
        chosen = self._option_for(issued.options, self._request.financial.disbursement_date)
        if chosen is not None and chosen.installment_value is not None:
            state.installment_value = chosen.installment_value
        last_option = max(
            (o.disbursement_date for o in issued.options), default=self._request.financial.last_disbursement_date
        )
        state.disbursement_window_end = end_of_day(last_option)
        self._start_window_timer()
        self._drain()
        self._enter(Stage.DOCUMENTS if self._request.documents else Stage.AWAITING_DOCUMENTS)

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
        await self._wait(lambda: state.signature_submitted_at is not None or self._provider_moved_on())
        self._enter(Stage.SIGNATURE_VALIDATION)

    async def _signature_validation(self) -> None:
        await self._wait(self._provider_moved_on)
        state = self._state
        waiting_release = state.margin_release_at is not None and workflow.now() < state.margin_release_at
        self._enter(Stage.MARGIN_RELEASE if waiting_release and not state.collateral_constituted else Stage.AVERBACAO)

    async def _margin_release(self) -> None:
        state = self._state
        assert state.margin_release_at is not None
        await self._wait(lambda: state.collateral_constituted, until=state.margin_release_at)
        self._enter(Stage.AVERBACAO)

    async def _averbacao(self) -> None:
        state = self._state
        await self._wait(
            lambda: state.collateral_constituted or state.pending_action is not None or self._needs_correction
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
            lambda: not self._needs_correction or state.collateral_constituted, until=state.correction_deadline
        )
        if not corrected:
            answer = state.last_dataprev
            what = f"{answer.code or ''} {answer.enumerator}".strip() if answer else "a cancel answer"
            raise _End(
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
        if state.rechecks >= MAX_RECHECKS:
            raise _End(Status.CANCELED, "averbação kept asking for a new balance consultation", cancel_at_provider=True)
        state.rechecks += 1
        created = await self._call(
            LoanActivities.request_balance,
            ConsultationInput(loan_id=self._loan_id, request=self._request, attempt=state.rechecks),
            refusal=Status.CANCELED,
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
            raise _End(Status.CANCELED, f"new balance consultation failed: {why}", cancel_at_provider=True)
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
        await self._wait(lambda: state.refusal is not None)
        self._enter(Stage.AWAITING_REAPRESENTACAO)

    async def _awaiting_reapresentacao(self) -> None:
        state = self._state
        await self._wait(lambda: state.refusal is None)
        self._enter(Stage.DISBURSEMENT)

    # ================================================================ endings

    def _ending(self) -> _End | None:
        state = self._state
        if self._cancel is not None:
            return _End(
                Status.CANCELED_PERMANENTLY,
                f"canceled by {self._cancel.operator}: {self._cancel.reason}",
                cancel_at_provider=True,
            )
        if state.provider_final_status == DebtStatus.CANCELED_PERMANENTLY:
            return _End(Status.CANCELED_PERMANENTLY, state.provider_final_reason)
        if state.provider_final_status == DebtStatus.CANCELED:
            return _End(Status.CANCELED, state.provider_final_reason)
        if state.disbursed:
            return _End(Status.COMPLETED, "disbursed")
        if self._window_expired:
            return _End(Status.CANCELED, "disbursement_window_expired", cancel_at_provider=True)
        return None

    def _raise_if_ending(self) -> None:
        ending = self._ending()
        if ending is not None:
            raise ending

    async def _close(self, end: _End) -> None:
        state = self._state
        state.status, state.outcome_reason, state.rejection = end.status, end.reason, end.rejection
        provider_done = state.provider_final_status == DebtStatus.CANCELED_PERMANENTLY or state.disbursed
        if end.cancel_at_provider and state.debt_key and not provider_done:
            try:
                async with self._lock:
                    await self._activity(
                        LoanActivities.cancel_permanently, DebtKeyInput(debt_key=state.debt_key), CLEANUP_TIMEOUT
                    )
            except ActivityError as error:
                state.outcome_reason = (
                    f"{end.reason}; the provider did not take the cancellation: {_failure_text(error)[1]}"
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

    # ================================================================ waiting

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
            raise _ContinueAsNew
        return True

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested() or info.get_current_history_length() > self._policy.history_event_limit
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

    def _provider_moved_on(self) -> bool:
        state = self._state
        return (
            state.signature_received
            or state.collateral_constituted
            or state.last_dataprev is not None
            or state.pending_action is not None
        )

    @property
    def _needs_correction(self) -> bool:
        answer = self._state.last_dataprev
        return answer is not None and answer.action == LenderAction.CANCEL.value

    # ================================================================ activities

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
            schedule_to_close_timeout=schedule_to_close or self._policy.provider_call_timeout,
            retry_policy=PROVIDER_RETRY,
        )

    async def _call(self, method: Any, argument: Any, *, refusal: Status = Status.REJECTED, local: bool = False) -> Any:
        """An activity whose failure ends the loan: a refusal by the provider, or the provider out of
        reach for longer than the policy allows."""
        try:
            return await self._activity(method, argument, local=local)
        except ActivityError as error:
            kind, text = _failure_text(error)
            if kind == BUSINESS_ERROR:
                raise _End(refusal, f"provider refused {method.__name__}: {text}", cancel_at_provider=True) from None
            raise _End(
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
        except ActivityError as error:
            state.document_problem = _failure_text(error)[1]
            self._publish()
            raise
        state.documents_attached, state.document_problem = True, None

    # ================================================================ provider events

    @workflow.signal(name=LOAN_EVENT_SIGNAL)
    def provider_event(self, event: ReceivedWebhook) -> None:
        state = self._state
        if event.event_id in state.seen_event_ids:
            state.duplicate_events += 1
            return
        state.seen_event_ids.append(event.event_id)
        if state.closed:
            self._record(event, "ignored: the loan is closed")
        elif event.key in state.known_keys():
            self._apply(event)
        else:
            # The webhook beat the activity that learns its key: keep it until the key is ours.
            state.buffered.append(event)
        self._publish()

    def _drain(self) -> None:
        state = self._state
        known = state.known_keys()
        ready = [e for e in state.buffered if e.key in known]
        state.buffered = [e for e in state.buffered if e.key not in known]
        for event in ready:
            self._apply(event)

    def _record(
        self, event: ReceivedWebhook, effect: str, status: str | None = None, detail: str | None = None
    ) -> None:
        webhook = event.webhook
        occurred = getattr(webhook, "occurred_at", None)
        record = EventRecord(
            event_id=event.event_id,
            webhook_type=str(webhook.webhook_type),
            key=webhook.key,
            status=status if status is not None else (str(getattr(webhook, "status", "") or "") or None),
            detail=detail,
            occurred_at=occurred if isinstance(occurred, datetime) else None,
            received_at=event.received_at,
            effect=effect,
        )
        state = self._state
        state.events.append(record)
        del state.events[:-MAX_EVENT_RECORDS]

    def _note_unknown(self, note: str) -> None:
        state = self._state
        state.unknown_values.append(note)
        del state.unknown_values[:-50]

    def _apply(self, event: ReceivedWebhook) -> None:
        webhook = event.webhook
        for path, raw in unknown_values(webhook):
            self._note_unknown(f"{webhook.webhook_type} {path}={raw!r}")
        if isinstance(webhook, BenefitsRequestWebhook):
            self._apply_benefits(event, webhook)
        elif isinstance(webhook, BalanceRequestWebhook):
            self._apply_balance(event, webhook)
        elif isinstance(webhook, DebtWebhook):
            self._apply_debt(event, webhook)
        elif isinstance(webhook, CollateralWebhook):
            self._apply_collateral(event, webhook)
        elif isinstance(webhook, PendingRequesterActionWebhook):
            self._apply_pending(event, webhook)
        else:
            self._record(event, "ignored: not a webhook of this product")

    def _apply_benefits(self, event: ReceivedWebhook, webhook: BenefitsRequestWebhook) -> None:
        state = self._state
        if isinstance(webhook.data, ConsultationFailure):
            state.consultation_failure = str(webhook.data.enumerator)
            self._record(event, "benefits request failed", detail=state.consultation_failure)
        elif webhook.status == ConsultationStatus.SUCCESS:
            state.listed_benefits = [b.benefit_number for b in webhook.data]
            self._record(event, f"{len(state.listed_benefits)} benefit(s) listed")
        else:
            self._record(event, "ignored: consultation still pending")

    def _apply_balance(self, event: ReceivedWebhook, webhook: BalanceRequestWebhook) -> None:
        state = self._state
        if state.balance_request_keys and webhook.key != state.balance_request_keys[-1]:
            self._record(event, "ignored: answer to an earlier balance request")
            return
        if isinstance(webhook.data, ConsultationFailure):
            state.balance_failure = str(webhook.data.enumerator)
            self._record(event, "balance request failed", detail=state.balance_failure)
        elif isinstance(webhook.data, BalanceData) and webhook.status == ConsultationStatus.SUCCESS:
            state.balance = webhook.data
            self._record(event, "benefit data received")
        else:
            self._record(event, "ignored: consultation still pending")

    def _apply_debt(self, event: ReceivedWebhook, webhook: DebtWebhook) -> None:
        state = self._state
        status = webhook.status
        reason = webhook.data.cancel_enumerator
        if status in {DebtStatus.SIGNATURE_RECEIVED, DebtStatus.SIGNATURE_FINISHED, DebtStatus.SIGNED}:
            state.signature_received = True
            self._record(event, "signature accepted")
        elif status in DISBURSEMENT_SUCCESS_STATUSES:
            state.disbursed = True
            self._record(event, "disbursed")
        elif status == DebtStatus.CANCELED and reason in REFUSALS:
            if state.disbursed:
                self._record(event, "ignored: already disbursed")
                return
            state.refusal = f"{reason}: {webhook.data.refusal_reason or 'no reason given'}"
            state.refusals += 1
            self._record(event, "payment refused", detail=state.refusal)
        elif status == DebtStatus.CANCELED:
            state.provider_final_status = DebtStatus.CANCELED.value
            state.provider_final_reason = self._provider_cancel_reason(reason)
            self._record(event, "canceled by the provider", detail=state.provider_final_reason)
        elif status == DebtStatus.CANCELED_PERMANENTLY:
            state.provider_final_status = DebtStatus.CANCELED_PERMANENTLY.value
            state.provider_final_reason = reason or (
                "provider validation of the documents or assistance_type failed"
                if state.stage in {Stage.SIGNATURE_VALIDATION, Stage.AWAITING_SIGNATURE}
                else "canceled permanently by the provider"
            )
            self._record(event, "canceled permanently by the provider", detail=state.provider_final_reason)
        else:
            self._record(event, f"noted: debt {status}")

    def _provider_cancel_reason(self, reason: str | None) -> str:
        end = self._state.disbursement_window_end
        if reason == CancelReason.MANUAL.value and end is not None and workflow.now() >= end - timedelta(hours=1):
            return "disbursement_window_expired"
        return reason or "canceled by the provider"

    def _apply_collateral(self, event: ReceivedWebhook, webhook: CollateralWebhook) -> None:
        state = self._state
        at = webhook.occurred_at if isinstance(webhook.occurred_at, datetime) else event.received_at
        if webhook.data.collateral_constituted:
            state.collateral_constituted = True
            state.last_dataprev = DataprevAnswer(
                enumerator="successfully_included",
                code="BD",
                description="Inclusion has been successfully done",
                action=LenderAction.CONFIRM.value,
                at=at,
            )
            self._record(event, "averbação done")
            return
        if state.collateral_constituted:
            self._record(event, "ignored: averbação already done")
            return
        for enumerator in webhook.data.error_enumerators or ["(no enumerator)"]:
            row = averbacao_return(enumerator)
            action = averbacao_action(enumerator)
            state.averbacao_answers += 1
            state.last_dataprev = DataprevAnswer(
                enumerator=enumerator,
                code=DATAPREV_CODES.get(enumerator) if row else None,
                description=row.description if row else None,
                action=action.value if action else "unknown",
                at=at,
            )
            if action is None:
                self._note_unknown(f"averbação enumerator {enumerator!r} is in no table: kept waiting as teimosinha")
            if action == LenderAction.CONFIRM:
                state.collateral_constituted = True
            self._record(event, f"averbação answer ({state.last_dataprev.action})", detail=enumerator)

    def _apply_pending(self, event: ReceivedWebhook, webhook: PendingRequesterActionWebhook) -> None:
        state = self._state
        if state.collateral_constituted:
            self._record(event, "ignored: averbação already done")
            return
        state.pending_action = str(webhook.data.enumerator)
        state.pending_reservation_amount = webhook.data.reservation_amount
        self._record(event, "averbação waits for the lender", detail=state.pending_action)

    # ================================================================ operator actions

    def _require_stage(self, *stages: Stage) -> None:
        if self._state.closed:
            raise ValueError(f"the loan is closed ({self._state.status.value})")
        if self._state.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise ValueError(f"the loan is in stage {self._state.stage.value}, this action needs {wanted}")

    def _operator(self, kind: str, note: str = "") -> None:
        self._state.operator_actions.append(OperatorAction(kind=kind, at=workflow.now(), note=note))

    @staticmethod
    def _refused(action: str, error: ActivityError) -> ApplicationError:
        kind, text = _failure_text(error)
        return ApplicationError(f"{action} refused: {text}", type=kind or "ActionFailed", non_retryable=True)

    @workflow.update
    async def provide_documents(self, documents: Documents) -> LoanState:
        self._operator("provide_documents")
        try:
            await self._attach(documents)
        except ActivityError as error:
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
                await self._activity(LoanActivities.sign, SignInput(debt_key=state.debt_key, submission=submission))
        except ActivityError as error:
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
                        account_holder_name=self._request.borrower.name,
                        account_holder_cpf=self._request.borrower.cpf,
                    ),
                )
        except ActivityError as error:
            raise self._refused("collateral correction", error) from None
        state.corrections += 1
        if self._needs_correction and state.last_dataprev is not None:
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
        try:
            async with self._lock:
                recalculated = await self._activity(
                    LoanActivities.recalculate,
                    RecalculateInput(debt_key=state.debt_key, installment_value=reduction.installment_value),
                )
        except ActivityError as error:
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
        if current is not None and reduction.installment_value >= current:
            raise ValueError(f"installment_value: must be below the current {current}")
        if current is not None and reduction.installment_value < current * 7 / 10:
            raise ValueError(f"installment_value: the provider reduces at most 30 % (from {current})")

    @workflow.update
    async def reapresentar(self, reapresentacao: Reapresentacao) -> LoanState:
        state = self._state
        assert state.debt_key is not None
        account = reapresentacao.disbursement_account
        try:
            async with self._lock:
                await self._activity(
                    LoanActivities.change_disbursement_date,
                    ReapresentacaoInput(
                        debt_key=state.debt_key,
                        disbursement_date=reapresentacao.disbursement_date,
                        account=account,
                        account_holder_name=self._request.borrower.name,
                        account_holder_cpf=self._request.borrower.cpf,
                    ),
                )
        except ActivityError as error:
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

    @workflow.query(name="state")
    def query_state(self) -> LoanState:
        return self._state

    # ================================================================ visibility

    @staticmethod
    def _option_for(options: list[PricedOption], day: date) -> PricedOption | None:
        return next((o for o in options if o.disbursement_date == day), options[0] if options else None)

    def _enter(self, stage: Stage) -> None:
        # Published at the next wait or activity: stages passed through without waiting cost no
        # history event (each search-attribute upsert is one).
        self._state.stage = stage

    def _publish(self) -> None:
        """Search attributes (only what changed: each upsert is a history event) and current details."""
        state = self._state
        answer = state.last_dataprev
        wanted: dict[str, Any] = {
            LOAN_STAGE.name: state.stage.value,
            LOAN_STATUS.name: state.status.value,
            PROVIDER_DEBT_KEY.name: state.debt_key,
            DATAPREV_LAST_ANSWER.name: f"{answer.code or '-'} {answer.enumerator}" if answer else None,
            DISBURSEMENT_WINDOW_END.name: state.disbursement_window_end,
            MARGIN_RELEASE_AT.name: state.margin_release_at,
        }
        keys = {
            LOAN_STAGE.name: LOAN_STAGE,
            LOAN_STATUS.name: LOAN_STATUS,
            PROVIDER_DEBT_KEY.name: PROVIDER_DEBT_KEY,
            DATAPREV_LAST_ANSWER.name: DATAPREV_LAST_ANSWER,
            DISBURSEMENT_WINDOW_END.name: DISBURSEMENT_WINDOW_END,
            MARGIN_RELEASE_AT.name: MARGIN_RELEASE_AT,
        }
        updates = [
            keys[name].value_set(value) if value is not None else keys[name].value_unset()  # type: ignore[attr-defined]
            for name, value in wanted.items()
            if self._published.get(name) != value and not (value is None and name not in self._published)
        ]
        if updates:
            workflow.upsert_search_attributes(updates)
            self._published.update(wanted)
        workflow.set_current_details(describe(state))
