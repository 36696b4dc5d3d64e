"""New credit (and its variants: refinancing, minimum-wage increase) at a webhook provider: the debt is
issued, its documents sent, the borrower signs, Dataprev registers the installment (averbação, with
teimosinha, corrections and the provider's pending actions), and the provider disburses.

    consultation → simulation → eligibility → issuance → documents → awaiting_signature
    → signature_validation → margin_release (DDB + 90) → averbacao ⇄ (correction | reduction | recheck)
    → disbursement ⇄ awaiting_reapresentacao
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import ptbr
    from domain.calendar import end_of_day
    from domain.loan import InstallmentReduction, SignatureSubmission
    from workflows.loan.activity_models import (
        ConfirmBalanceInput,
        DebtKeyInput,
        IssueInput,
        RecalculateInput,
        SignInput,
        SimulateInput,
        option_for,
    )
    from workflows.loan.core import ACTIVITY_FAILURES, CLEANUP_TIMEOUT, LoanRun, ends, failure_text
    from workflows.loan.decisions import requester_identifier_key, signer_mismatch
    from workflows.loan.endings import Ending, provider_already_ended
    from workflows.loan.facts import MARGIN_EXCEEDED, needs_correction, note_unknown, provider_moved_on, receive
    from workflows.loan.port import (
        BUSINESS_ERROR,
        CANCEL_PERMANENTLY,
        CAPABILITIES,
        CONFIRM_BALANCE_REQUEST,
        ISSUE_DEBT,
        RECALCULATE,
        REQUEST_BALANCE,
        SIGN,
        SIGN_ANSWERED,
        SIMULATE_DEBT,
    )
    from workflows.loan.prelude import Consultation, check_eligibility, choose_option, refuses_empty_refinancing
    from workflows.loan.state import Stage, Status


CONFIRMATION_REFUSAL_WAITS = "balance-confirmation-refusal-waits"
"""Patch: a 4xx on the balance request's confirmation no longer cancels the debt permanently."""
SIGNATURE_ANSWER_APPLIED = "signature-answer-applied"
"""Patch: the provider's answer to the signature (``signature_received``) is applied as a fact."""


async def cancel_debt(loan: LoanRun, ending: Ending) -> None:
    """An ending that cancels, for a debt: canceled permanently at the provider, unless it has no
    cancel API (an operator cancels it there) or it ended the debt itself."""
    state = loan.state
    if not (ending.cancel_at_provider and state.debt_key):
        return
    if not CAPABILITIES[loan.provider].cancel:
        # Nothing was canceled at the provider: not "canceled permanently" until someone does it there.
        state.status = Status.CANCELED
        state.outcome_reason = f"{ending.reason}; cancel it at {loan.provider.value}: it has no cancel API"
    elif not provider_already_ended(state):
        try:
            async with loan.lock:
                await loan.activity(CANCEL_PERMANENTLY, DebtKeyInput(debt_key=state.debt_key), CLEANUP_TIMEOUT)
        except ACTIVITY_FAILURES as error:
            state.outcome_reason = (
                f"{ending.reason}; the provider did not take the cancellation: {failure_text(error)[1]}"
            )


class NewCreditJourney:
    actions_at_provider = False

    def __init__(self, loan: LoanRun) -> None:
        self.loan = loan
        self.consultation = Consultation(loan)
        self.stages: dict[Stage, Callable[[], Awaitable[None]]] = {
            Stage.CONSULTATION: self.consultation.run,
            Stage.SIMULATION: self._simulation,
            Stage.ELIGIBILITY: self._eligibility,
            Stage.ISSUANCE: self._issuance,
            Stage.DOCUMENTS: self._documents,
            Stage.AWAITING_DOCUMENTS: self._awaiting_documents,
            Stage.AWAITING_SIGNATURE: self._awaiting_signature,
            Stage.SIGNATURE_VALIDATION: self._signature_validation,
            Stage.MARGIN_RELEASE: self._margin_release,
            Stage.AVERBACAO: self._averbacao,
            Stage.AWAITING_BENEFICIARY_CONFIRMATION: self._awaiting_confirmation,
            Stage.AWAITING_COLLATERAL_CORRECTION: self._awaiting_correction,
            Stage.AWAITING_INSTALLMENT_REDUCTION: self._awaiting_reduction,
            Stage.BALANCE_RECHECK: self._balance_recheck,
            Stage.DISBURSEMENT: self._disbursement,
            Stage.AWAITING_REAPRESENTACAO: self._awaiting_reapresentacao,
        }

    async def step(self) -> None:
        await self.stages[self.loan.state.stage]()

    async def cancel_at_provider(self, ending: Ending) -> None:
        await cancel_debt(self.loan, ending)

    # ------------------------------------------------------------ operators' actions

    async def sign(self, submission: SignatureSubmission) -> None:
        state = self.loan.state
        assert state.debt_key is not None
        signing = SignInput(
            debt_key=state.debt_key, submission=submission, requester_identifier_key=state.requester_identifier_key
        )
        if not workflow.patched(SIGNATURE_ANSWER_APPLIED):
            await self.loan.activity(SIGN, signing)
            return
        answered = await self.loan.activity(SIGN_ANSWERED, signing)
        for news in answered.events:  # signature_received: a fact, as the webhook would make it
            receive(state, news, rules=self.loan.rules, now=workflow.now())

    async def reduce(self, reduction: InstallmentReduction) -> None:
        loan, state = self.loan, self.loan.state
        assert state.debt_key is not None
        async with loan.lock:
            recalculated = await loan.activity(
                RECALCULATE, RecalculateInput(debt_key=state.debt_key, installment_value=reduction.installment_value)
            )
        state.issued_options = recalculated.options
        state.installment_value = reduction.installment_value
        state.pending_action = None
        loan.operator(
            "reduce_installment",
            f"{reduction.installment_value} {reduction.note}".strip(),
            by=reduction.verified_operator,
        )

    def check_reduction(self, reduction: InstallmentReduction) -> None:
        current, limit = self.loan.state.installment_value, self.loan.rules.max_installment_reduction
        if current is not None and reduction.installment_value < current * (1 - limit):
            raise ValueError(
                f"installment_value: the provider reduces at most {(limit * 100).normalize():f} % (from {current})"
            )

    def check_cancel(self) -> None:
        """A new credit can be canceled until it is disbursed (the workflow checks that)."""

    # ------------------------------------------------------------ stages

    async def _simulation(self) -> None:
        refuse_empty = refuses_empty_refinancing(self.loan)  # before the local activity (see there)
        choose_option(
            self.loan,
            await self.loan.call(SIMULATE_DEBT, SimulateInput(request=self.loan.request), local=True),
            refuse_empty=refuse_empty,
        )

    async def _eligibility(self) -> None:
        await check_eligibility(self.loan)

    async def _issuance(self) -> None:
        loan, state = self.loan, self.loan.state
        edition_2 = loan.rules.edition >= 2
        assert state.balance is not None
        assistance = state.balance.assistance_type
        if state.requester_identifier_key is None:
            key = loan.request.request_key
            state.requester_identifier_key = requester_identifier_key(key) if edition_2 else key
        issued = await loan.call(
            ISSUE_DEBT,
            IssueInput(
                loan_id=loan.loan_id,
                request=loan.request,
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
        mismatch = signer_mismatch(loan.request, state.signers) if edition_2 else None
        if mismatch:
            raise ends(Status.CANCELED, mismatch, cancel_at_provider=True)
        chosen = option_for(issued.options, loan.request.financial.disbursement_date)
        if chosen is not None and chosen.installment_value is not None:
            state.installment_value = chosen.installment_value
        last_option = max(
            (o.disbursement_date for o in issued.options), default=loan.request.financial.last_disbursement_date
        )
        state.disbursement_window_end = end_of_day(last_option)
        loan.start_window_timer()
        loan.drain()
        loan.enter(Stage.DOCUMENTS if loan.request.documents else Stage.AWAITING_DOCUMENTS)

    async def _documents(self) -> None:
        loan = self.loan
        assert loan.request.documents is not None
        # On failure the problem is on record, and an operator sends new documents (provide_documents).
        with contextlib.suppress(ActivityError):
            await loan.attach(loan.request.documents)
        loan.enter(Stage.AWAITING_SIGNATURE if loan.state.documents_attached else Stage.AWAITING_DOCUMENTS)

    async def _awaiting_documents(self) -> None:
        await self.loan.wait(lambda: self.loan.state.documents_attached)
        self.loan.enter(Stage.AWAITING_SIGNATURE)

    async def _awaiting_signature(self) -> None:
        state = self.loan.state
        await self.loan.wait(lambda: state.signature_submitted_at is not None or provider_moved_on(state))
        self.loan.enter(Stage.SIGNATURE_VALIDATION)

    async def _signature_validation(self) -> None:
        loan, state = self.loan, self.loan.state
        await loan.wait_on_provider(lambda: provider_moved_on(state), collateral=True)
        waiting_release = state.margin_release_at is not None and workflow.now() < state.margin_release_at
        loan.enter(Stage.MARGIN_RELEASE if waiting_release and not state.collateral_constituted else Stage.AVERBACAO)

    async def _margin_release(self) -> None:
        state = self.loan.state
        assert state.margin_release_at is not None
        await self.loan.wait(
            lambda: state.collateral_constituted,
            until=state.margin_release_at,
            summary="margin release (DDB + 90 days)",
        )
        self.loan.enter(Stage.AVERBACAO)

    async def _averbacao(self) -> None:
        loan, state = self.loan, self.loan.state
        await loan.wait_on_provider(
            lambda: (
                state.collateral_constituted
                or state.pending_action is not None
                or needs_correction(state)
                or state.confirmation_deadline is not None
            ),
            collateral=True,
        )
        if state.collateral_constituted:
            loan.enter(Stage.DISBURSEMENT)
        elif state.confirmation_deadline is not None:
            loan.enter(Stage.AWAITING_BENEFICIARY_CONFIRMATION)
        elif state.pending_action in MARGIN_EXCEEDED:
            loan.enter(Stage.AWAITING_INSTALLMENT_REDUCTION)
        elif state.pending_action is not None:
            loan.enter(Stage.BALANCE_RECHECK)
        else:
            deadline = workflow.now() + loan.policy.correction_grace
            if state.disbursement_window_end is not None:
                deadline = min(deadline, state.disbursement_window_end)
            state.correction_deadline = deadline
            loan.enter(Stage.AWAITING_COLLATERAL_CORRECTION)

    async def _awaiting_confirmation(self) -> None:
        """Anuência: up to 5 calendar days for the beneficiary to confirm in Meu INSS. The provider ends it:
        the collateral constituted, or the debt canceled (refused, expired) — the loan's ending names
        which. A silence is answered by asking the provider, as in every wait on it."""
        state = self.loan.state
        await self.loan.wait_on_provider(lambda: state.collateral_constituted, collateral=True)
        self.loan.enter(Stage.DISBURSEMENT)

    async def _awaiting_correction(self) -> None:
        state = self.loan.state
        assert state.correction_deadline is not None
        corrected = await self.loan.wait(
            lambda: not needs_correction(state) or state.collateral_constituted,
            until=state.correction_deadline,
            summary="correction deadline",
        )
        if not corrected:
            answer = state.last_dataprev
            what = f"{answer.code or ''} {answer.enumerator}".strip() if answer else "a cancel answer"
            raise ends(
                Status.CANCELED,
                f"averbação refused with {what}, not corrected by {ptbr.moment(state.correction_deadline)}",
                cancel_at_provider=True,
            )
        state.correction_deadline = None
        self.loan.enter(Stage.AVERBACAO)

    async def _awaiting_reduction(self) -> None:
        state = self.loan.state
        await self.loan.wait(lambda: state.pending_action is None or state.collateral_constituted)
        self.loan.enter(Stage.AVERBACAO)

    async def _balance_recheck(self) -> None:
        loan, state = self.loan, self.loan.state
        if state.rechecks >= loan.rules.max_balance_rechecks:
            raise ends(Status.CANCELED, "averbação kept asking for a new balance consultation", cancel_at_provider=True)
        state.rechecks += 1
        created = await loan.call(REQUEST_BALANCE, self.consultation.input(state.rechecks), refusal=Status.CANCELED)
        state.balance_request_keys.append(created.key)
        state.balance, state.balance_failure = None, None
        loan.drain()
        deadline = workflow.now() + loan.policy.consultation_timeout
        answered = await loan.wait(
            lambda: state.balance is not None or state.balance_failure is not None,
            until=deadline,
            summary="balance consultation deadline",
        )
        if not answered or state.balance_failure:
            why = state.balance_failure or "no answer"
            raise ends(Status.CANCELED, f"new balance consultation failed: {why}", cancel_at_provider=True)
        assert state.debt_key is not None
        confirmation = ConfirmBalanceInput(debt_key=state.debt_key, balance_request_key=created.key)
        if not workflow.patched(CONFIRMATION_REFUSAL_WAITS):
            await loan.call(CONFIRM_BALANCE_REQUEST, confirmation, refusal=Status.CANCELED)
        elif not await self._confirmed(confirmation):
            # The provider refused the confirmation (its path is our assumption, README): a debt is not
            # canceled for good on that. The provider resumes the averbação once it sees the successful
            # balance request, or the window's end closes the loan as it always does.
            await loan.wait_on_provider(
                lambda: (
                    state.collateral_constituted or needs_correction(state) or state.confirmation_deadline is not None
                ),
                collateral=True,
            )
        state.pending_action = None
        loan.enter(Stage.AVERBACAO)

    async def _confirmed(self, confirmation: ConfirmBalanceInput) -> bool:
        """The balance request confirmed; False when the provider refused it (a 4xx), which is kept for
        operators. Out of reach for longer than the rules allow still ends the loan, as any call does."""
        loan = self.loan
        try:
            await loan.activity(CONFIRM_BALANCE_REQUEST, confirmation)
        except ACTIVITY_FAILURES as error:
            kind, text = failure_text(error)
            if kind != BUSINESS_ERROR:
                raise ends(
                    Status.CANCELED,
                    f"provider unavailable for {CONFIRM_BALANCE_REQUEST.name}: {text}",
                    cancel_at_provider=True,
                ) from None
            loan.state.balance_confirmation_refused = text[:300]
            note_unknown(loan.state, f"balance request confirmation refused: {text}"[:300])
            return False
        return True

    async def _disbursement(self) -> None:
        state = self.loan.state
        await self.loan.wait_on_provider(lambda: state.refusal is not None)
        self.loan.enter(Stage.AWAITING_REAPRESENTACAO)

    async def _awaiting_reapresentacao(self) -> None:
        state = self.loan.state
        await self.loan.wait(lambda: state.refusal is None)
        self.loan.enter(Stage.DISBURSEMENT)
