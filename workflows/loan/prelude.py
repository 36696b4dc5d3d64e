"""The stages every journey starts with, as parts a journey composes: the IN100 consultation (the
benefits, then the balance, within the consultation deadline), the choice among the simulation's
options, and the eligibility rules before anything is issued."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import ptbr
    from domain.calendar import SAO_PAULO, end_of_day
    from workflows.loan.activity_models import ConsultationInput, Simulated, TermUploadInput, option_for
    from workflows.loan.core import LoanRun, ends
    from workflows.loan.decisions import eligibility, eligibility_without_consultation, unknown_block_type
    from workflows.loan.facts import note_unknown
    from workflows.loan.port import REQUEST_BALANCE, REQUEST_BENEFITS, UPLOAD_AUTHORIZATION_TERM
    from workflows.loan.state import RefinancingPayoff, Stage, Status

PAYOFF_FROM_PROVIDER = "refinancing-payoff-from-provider"
"""The patch under which a refinancing that releases nothing is refused at the simulation."""


UNKNOWN_BLOCK_TYPE_FLAGGED = "unknown-block-type-flagged"
"""Patch: a ``block_type`` no table spells is flagged and a stated risk, not a refusal."""


class Consultation:
    """The IN100 consultation, the same for every product: its own stage, so each journey runs it."""

    def __init__(self, loan: LoanRun) -> None:
        self.loan = loan

    async def run(self) -> None:
        loan, state = self.loan, self.loan.state
        if state.consultation_deadline is None:
            state.consultation_deadline = workflow.now() + loan.policy.consultation_timeout
        deadline = deadline_timer(state.consultation_deadline, "consultation deadline")
        term = loan.request.authorization_term.document
        if term is not None and state.term_document_key is None:
            uploaded = await loan.call(
                UPLOAD_AUTHORIZATION_TERM, TermUploadInput(request_key=state.request_key, term=term)
            )
            state.term_document_key = uploaded.document_key
        if state.benefits_request_key is None:
            created = await loan.call(REQUEST_BENEFITS, self.input())
            state.benefits_request_key = created.key
            loan.drain()
        await loan.wait(
            lambda: state.listed_benefits is not None or state.consultation_failure is not None or deadline.done()
        )
        if state.listed_benefits is None and state.consultation_failure is None:
            raise ends(
                Status.REJECTED,
                f"consultation_timeout: no benefits answer by {ptbr.moment(state.consultation_deadline)}",
            )
        if state.consultation_failure:
            raise ends(Status.REJECTED, f"benefits request failed: {state.consultation_failure}")
        if not state.balance_request_keys:
            created = await loan.call(REQUEST_BALANCE, self.input())
            state.balance_request_keys.append(created.key)
            loan.drain()
        await loan.wait(lambda: state.balance is not None or state.balance_failure is not None or deadline.done())
        if state.balance is None and state.balance_failure is None:
            raise ends(
                Status.REJECTED,
                f"consultation_timeout: no balance answer by {ptbr.moment(state.consultation_deadline)}",
            )
        deadline.cancel()
        if state.balance_failure:
            raise ends(Status.REJECTED, f"balance request failed: {state.balance_failure}")
        loan.enter(Stage.SIMULATION)

    def input(self, attempt: int = 0) -> ConsultationInput:
        loan, state = self.loan, self.loan.state
        return ConsultationInput(
            loan_id=loan.loan_id,
            request=loan.request,
            attempt=attempt,
            benefit_number=state.corrected_benefit_number,
            term_document_key=state.term_document_key,
        )


def refuses_empty_refinancing(loan: LoanRun) -> bool:
    """Whether this loan refuses a refinancing that would release nothing (loans recorded before went
    on). Asked *before* the simulation's local activity: a patch first checked after a local activity
    of the same workflow task does not replay when a query rebuilds the loan."""
    return bool(loan.request.refinanced_operations) and workflow.patched(PAYOFF_FROM_PROVIDER)


def choose_option(loan: LoanRun, simulated: Simulated, *, refuse_empty: bool = False) -> None:
    """The simulation's answer: the option for the requested disbursement day (else the first)."""
    state = loan.state
    chosen = option_for(simulated.options, loan.request.financial.disbursement_date)
    if chosen is None:
        raise ends(Status.REJECTED, "the provider's simulation returned no disbursement option")
    state.chosen_option = chosen
    state.pricing_check = simulated.pricing_check
    state.installment_value = state.chosen_option.installment_value
    if loan.request.refinanced_operations:
        _payoff(loan, simulated, refuse_empty=refuse_empty)
    loan.enter(Stage.ELIGIBILITY)


def _payoff(loan: LoanRun, simulated: Simulated, *, refuse_empty: bool) -> None:
    """A refinancing's payoff is the provider's answer; the caller's expectation is only shown beside
    it. A new loan that would release nothing once the payoff is made is refused."""
    state, chosen = loan.state, loan.state.chosen_option
    assert chosen is not None
    state.payoff = RefinancingPayoff(
        provider=chosen.payoff, expected=loan.request.expected_payoff, operations=simulated.refinanced
    )
    released = chosen.released_amount
    if refuse_empty and released is not None and released <= 0:
        raise ends(
            Status.REJECTED,
            f"refinancing releases nothing: {state.payoff.text()}, and the borrower would receive {released}",
        )


async def check_eligibility(loan: LoanRun) -> None:
    """The eligibility stage: the pinned rules over the consultation's facts and the simulation."""
    state, terms = loan.state, loan.request.financial
    if state.balance is None and not loan.in100:
        decided = eligibility_without_consultation(state, loan.request, loan.rules)
    else:
        # Patched: a block type no table spells is flagged and a stated risk (it refused the loan before).
        flagged = unknown_block_type(state) and workflow.patched(UNKNOWN_BLOCK_TYPE_FLAGGED)
        today = workflow.now().astimezone(SAO_PAULO).date()
        decided = eligibility(state, loan.request, loan.rules, today, unknown_block_is_risk=flagged)
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
        raise ends(
            Status.REJECTED,
            f"the disbursement window has ended ({ptbr.LAST_DISBURSEMENT_DAY} "
            f"{ptbr.day(terms.last_disbursement_date)})",
        )
    loan.enter(Stage.ISSUANCE)


def deadline_timer(moment: datetime, summary: str) -> asyncio.Task[None]:
    """A durable timer as a task: done() once ``moment`` passes. One timer serves several waits."""

    async def sleep() -> None:
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining, summary=summary)

    return asyncio.create_task(sleep())
