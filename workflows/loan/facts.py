"""The facts reducer: a provider's news changes facts in the loan's state, and nothing else.

Pure: no Temporal, no I/O, no clock (``now`` is passed in). The workflow's signal handler calls
:func:`receive`; the stage logic then reads the facts, so duplicated, late and out-of-order news is
harmless. News is applied once, by identity; news whose provider key the loan does not know yet is
buffered and applied by :func:`drain` once the key is the loan's. It reads the loan's own vocabulary
(``workflows.loan.news``): each provider's adapter translated its webhooks at its edge.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from domain import ptbr
from domain.inss import AVERBACAO_ERRORS, ENUMERATOR_ALIASES, LenderAction, averbacao_return
from workflows.loan.news import (
    BalanceReceived,
    BenefitsListed,
    CancelCause,
    ConfirmationPending,
    ConsentMoved,
    ConsultationFailed,
    ConsultationPending,
    DataprevAnswered,
    DebtMoved,
    DebtPhase,
    Leg,
    LegMoved,
    LegStatus,
    LenderActionNeeded,
    OriginContractAnswered,
    PortabilityDataprevAnswered,
    ProposalMoved,
    ProposalStatus,
    ProviderNews,
)
from workflows.loan.news_order import first_sight, late_consent_status, late_proposal_status
from workflows.loan.rules import LoanRules
from workflows.loan.state import DataprevAnswer, EventRecord, LoanState, PortabilityFacts, Stage

MAX_EVENT_RECORDS = 200
MAX_UNKNOWN_NOTES = 50
MARGIN_EXCEEDED = frozenset({"margin_exceeded_for_new_beneficiary", "margin_exceeded_for_minimum_wage_increase"})
"""The averbação's pending actions that ask for a smaller installment (seed 004 §7)."""
DATAPREV_CODES = {row.enumerator: row.code for row in AVERBACAO_ERRORS}
PORTABILITY_FACTS = (ProposalMoved, ConsentMoved, LegMoved, PortabilityDataprevAnswered, OriginContractAnswered)


REMEMBERED_EVENT_IDS = 500


def receive(state: LoanState, news: ProviderNews, *, rules: LoanRules, now: datetime) -> None:
    """A delivery of a provider's news: applied once, buffered while its key is not the loan's."""
    # Remembered across continue-as-new: a redelivery comes after a relay crash or a lost mark.
    if not first_sight(state.seen_event_ids, news.event_id, remembered=REMEMBERED_EVENT_IDS):
        state.duplicate_events += 1
        return
    if state.closed:
        record(state, news, "ignored: the loan is closed")
    elif news.key in state.known_keys():
        apply_news(state, news, rules=rules, now=now)
    else:
        # The news beat the activity that learns its key: keep it until the key is ours.
        state.buffered.append(news)


def drain(state: LoanState, *, rules: LoanRules, now: datetime) -> None:
    """Apply the buffered news whose key the loan has learnt since it arrived."""
    known = state.known_keys()
    ready = [e for e in state.buffered if e.key in known]
    state.buffered = [e for e in state.buffered if e.key not in known]
    for news in ready:
        apply_news(state, news, rules=rules, now=now)


def record(
    state: LoanState, news: ProviderNews, effect: str, status: str | None = None, detail: str | None = None
) -> None:
    """What the loan did with a piece of news, for operators (what it carried stays in the history)."""
    state.events.append(
        EventRecord(
            event_id=news.event_id,
            webhook_type=news.source,
            key=news.key,
            status=status if status is not None else news.status,
            detail=detail,
            occurred_at=news.occurred_at,
            received_at=news.received_at,
            effect=effect,
        )
    )
    del state.events[:-MAX_EVENT_RECORDS]


def note_unknown(state: LoanState, note: str) -> None:
    """A value no table knows: kept visible for operators instead of guessed at."""
    state.unknown_values.append(note)
    del state.unknown_values[:-MAX_UNKNOWN_NOTES]


def apply_news(state: LoanState, news: ProviderNews, *, rules: LoanRules, now: datetime) -> None:
    for unknown in news.unknown:
        note_unknown(state, f"{news.source} {unknown}")
    fact = news.fact
    if isinstance(fact, BenefitsListed | ConsultationFailed | ConsultationPending) and (
        not isinstance(fact, ConsultationFailed | ConsultationPending) or fact.consultation == "benefits"
    ):
        _benefits(state, news, fact)
    elif isinstance(fact, BalanceReceived | ConsultationFailed | ConsultationPending):
        _balance(state, news, fact)
    elif isinstance(fact, DebtMoved):
        _debt(state, news, fact, now)
    elif isinstance(fact, DataprevAnswered):
        _collateral(state, news, fact, rules)
    elif isinstance(fact, ConfirmationPending):
        _confirmation(state, news, fact)
    elif isinstance(fact, LenderActionNeeded):
        _pending(state, news, fact)
    elif isinstance(fact, PORTABILITY_FACTS) and state.portability is not None:
        _portability(state, state.portability, news, fact, rules)
    else:
        record(state, news, "ignored: not a webhook of this product")


def _benefits(
    state: LoanState, news: ProviderNews, fact: BenefitsListed | ConsultationFailed | ConsultationPending
) -> None:
    if isinstance(fact, ConsultationFailed):
        state.consultation_failure = fact.reason
        record(state, news, "benefits request failed", detail=state.consultation_failure)
    elif isinstance(fact, BenefitsListed):
        state.listed_benefits = list(fact.benefits)
        record(state, news, f"{len(state.listed_benefits)} benefit(s) listed")
    else:
        record(state, news, "ignored: consultation still pending")


def _balance(
    state: LoanState, news: ProviderNews, fact: BalanceReceived | ConsultationFailed | ConsultationPending
) -> None:
    if state.balance_request_keys and news.key != state.balance_request_keys[-1]:
        record(state, news, "ignored: answer to an earlier balance request")
        return
    if isinstance(fact, ConsultationFailed):
        state.balance_failure = fact.reason
        record(state, news, "balance request failed", detail=state.balance_failure)
    elif isinstance(fact, BalanceReceived):
        state.balance = fact.balance
        record(state, news, "benefit data received")
    else:
        record(state, news, "ignored: consultation still pending")


def _debt(state: LoanState, news: ProviderNews, fact: DebtMoved, now: datetime) -> None:
    if fact.phase == DebtPhase.SIGNATURE_ACCEPTED:
        state.signature_received = True
        record(state, news, "signature accepted")
    elif fact.phase == DebtPhase.DISBURSED:
        state.disbursed = True
        record(state, news, "disbursed")
    elif fact.phase == DebtPhase.PAYMENT_REFUSED:
        if state.disbursed:
            record(state, news, "ignored: already disbursed")
            return
        state.refusal = f"{fact.reason}: {fact.refusal or 'no reason given'}"
        state.refusals += 1
        record(state, news, "payment refused", detail=state.refusal)
    elif fact.phase == DebtPhase.CANCELED:
        state.provider_final_status = DebtPhase.CANCELED.value
        state.provider_final_reason = _cancel_reason(state, fact, now)
        record(state, news, "canceled by the provider", detail=state.provider_final_reason)
    elif fact.phase == DebtPhase.CANCELED_PERMANENTLY:
        state.provider_final_status = DebtPhase.CANCELED_PERMANENTLY.value
        state.provider_final_reason = fact.reason or (
            "provider validation of the documents or assistance_type failed"
            if state.stage in {Stage.SIGNATURE_VALIDATION, Stage.AWAITING_SIGNATURE}
            else "canceled permanently by the provider"
        )
        record(state, news, "canceled permanently by the provider", detail=state.provider_final_reason)
    else:
        record(state, news, f"noted: debt {news.status}")


def _cancel_reason(state: LoanState, fact: DebtMoved, now: datetime) -> str:
    # Seed 004 §4: when the window runs out the provider cancels with its "manual" reason.
    end = state.disbursement_window_end
    if fact.cause == CancelCause.BY_HAND and end is not None and now >= end - timedelta(hours=1):
        return "disbursement_window_expired"
    if fact.cause == CancelCause.CONFIRMATION_DENIED:
        return f"{fact.reason}: the beneficiary refused the loan in Meu INSS"
    if fact.cause == CancelCause.CONFIRMATION_EXPIRED:
        # The cancel may overtake every notice (webhooks come out of order): then no deadline is known.
        by = ptbr.moment(state.confirmation_deadline) if state.confirmation_deadline else "its deadline (5 days)"
        return f"{fact.reason}: not confirmed in Meu INSS by {by}"
    return fact.reason or "canceled by the provider"


def _collateral(state: LoanState, news: ProviderNews, fact: DataprevAnswered, rules: LoanRules) -> None:
    at = news.occurred_at or news.received_at
    if fact.constituted:
        state.collateral_constituted = True
        state.last_dataprev = DataprevAnswer(
            enumerator="successfully_included",
            code="BD",
            description="Inclusion has been successfully done",
            action=LenderAction.CONFIRM.value,
            at=at,
        )
        record(state, news, "averbação done")
        return
    if rules.edition >= 2 and fact.successes and not fact.errors:
        _reservation_success(state, news, fact.successes, at)
        return
    if state.collateral_constituted:
        record(state, news, "ignored: averbação already done")
        return
    # A portability's troco leg answers here too (seed 002 §11): by the Port+Refin table, where pinned.
    port_refin = state.portability is not None and rules.pins_port_refin
    for enumerator in fact.errors or ["(no enumerator)"]:
        row = averbacao_return(enumerator)
        action = rules.averbacao_action(enumerator, port_refin=port_refin)
        state.averbacao_answers += 1
        state.last_dataprev = DataprevAnswer(
            enumerator=enumerator,
            code=DATAPREV_CODES.get(enumerator) if row else None,
            description=row.description if row else None,
            action=action.value if action else "unknown",
            at=at,
        )
        if action is None:
            note_unknown(state, f"averbação enumerator {enumerator!r} is in no table: kept waiting as teimosinha")
        if action == LenderAction.CONFIRM:
            state.collateral_constituted = True
        record(state, news, f"averbação answer ({state.last_dataprev.action})", detail=enumerator)


RESERVATION_SUCCESSES = {
    "successfully_removed": "reservation removed at Dataprev (desaverbação)",
    "successfully_reactivated": "reservation reactivated at Dataprev",
    "successfully_suspended": "reservation suspended at Dataprev",
}


def _reservation_success(state: LoanState, news: ProviderNews, successes: list[str], at: datetime) -> None:
    """Seed 004 §12's success table: BD is the averbação; BF/BR/BS answer removals, reactivations and
    suspensions of the reservation, never an averbação (the first edition took all four for BD)."""
    for enumerator in successes:
        canonical = ENUMERATOR_ALIASES.get(enumerator, enumerator)
        if canonical == "successfully_included":
            state.collateral_constituted = True
            state.last_dataprev = DataprevAnswer(
                enumerator=canonical,
                code="BD",
                description="Inclusion has been successfully done",
                action=LenderAction.CONFIRM.value,
                at=at,
            )
            record(state, news, "averbação done")
        elif canonical in RESERVATION_SUCCESSES:
            state.reservation_status = canonical
            record(state, news, RESERVATION_SUCCESSES[canonical], detail=canonical)
        else:
            note_unknown(state, f"averbação success {enumerator!r} is in no table")
            record(state, news, "noted: unknown Dataprev success", detail=enumerator)


def _confirmation(state: LoanState, news: ProviderNews, fact: ConfirmationPending) -> None:
    """Anuência: Dataprev took the reservation and waits for the beneficiary in Meu INSS (the provider
    says so again each time it asks, every few hours, until the answer or the deadline)."""
    if state.collateral_constituted:
        record(state, news, "ignored: averbação already done")
        return
    state.confirmation_deadline = fact.deadline or state.confirmation_deadline
    state.confirmation_notices += 1
    record(state, news, "averbação waits for the beneficiary's confirmation in Meu INSS", detail=_iso(fact.deadline))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _pending(state: LoanState, news: ProviderNews, fact: LenderActionNeeded) -> None:
    if state.collateral_constituted:
        record(state, news, "ignored: averbação already done")
        return
    state.pending_action = fact.action
    state.pending_reservation_amount = fact.reservation_amount
    record(state, news, "averbação waits for the lender", detail=state.pending_action)


HW_MARGIN_EXCEEDED = "consignable_margin_excceded"  # HW, spelled as the seeds spell it


def _portability(
    state: LoanState,
    facts: PortabilityFacts,
    news: ProviderNews,
    fact: ProposalMoved | ConsentMoved | LegMoved | PortabilityDataprevAnswered | OriginContractAnswered,
    rules: LoanRules,
) -> None:
    """A portability proposal's news (Port+Refin): the CTC, the consent, the origin bank, the payoff,
    each leg's averbação and the troco."""
    if isinstance(fact, ProposalMoved):
        status = fact.status
        facts.portability_number = fact.portability_number or facts.portability_number
        if _late(state, news, "proposal", facts.proposal_status, status, late_proposal_status):
            return
        facts.proposal_status = status
        if status == ProposalStatus.REJECTED and fact.rejection is not None:
            facts.ctc_rejection = fact.rejection
        elif status == ProposalStatus.ACCEPTED:
            facts.final_due_balance = fact.final_due_balance or facts.final_due_balance
        elif status == ProposalStatus.RETAINED and fact.retention is not None:
            facts.retention = fact.retention
        elif status == ProposalStatus.PAID:
            facts.paid = True
        record(state, news, f"proposal {status}", status=status, detail=facts.ctc_rejection or facts.retention)
    elif isinstance(fact, ConsentMoved):
        facts.consent_deadline = fact.deadline or facts.consent_deadline
        if _late(state, news, "consent", facts.consent_status, fact.status, late_consent_status):
            return
        facts.consent_status = fact.status
        record(state, news, f"consent {facts.consent_status}", status=facts.consent_status)
    elif isinstance(fact, LegMoved):
        if fact.status == LegStatus.DISBURSED and fact.leg == Leg.REFINANCING:
            facts.troco_disbursed = True
        elif fact.status == LegStatus.CANCELED and fact.leg not in facts.legs_canceled:
            facts.legs_canceled.append(fact.leg)
        record(state, news, f"{fact.leg} leg {fact.status}", status=fact.status)
    elif isinstance(fact, PortabilityDataprevAnswered):
        if fact.constituted or _reserved_by(fact, rules):
            facts.portability_reserved = True
            record(state, news, "portability leg reserved at Dataprev")
        else:
            # Port+Refin's table: every error is teimosinha but HX (seed 002 §14); the provider retries.
            facts.last_portability_answer = ", ".join(fact.errors) or None
            facts.margin_exceeded = bool(fact.errors) and fact.errors[-1] == HW_MARGIN_EXCEEDED
            record(state, news, "portability leg: averbação answer", detail=facts.last_portability_answer)
    elif fact.failure is not None:
        facts.origin_query_failure = fact.failure
        record(state, news, "origin contract not found", detail=facts.origin_query_failure)
    else:
        facts.released_installment = fact.released_installment
        record(state, news, "origin contract: released", detail=str(facts.released_installment))


def _late(
    state: LoanState,
    news: ProviderNews,
    what: str,
    held: str | None,
    status: str,
    late: Callable[[str | None, str], bool],
) -> bool:
    """News of a status the loan has moved past (the provider's order is not ours): recorded, ignored."""
    if late(held, status):
        record(state, news, f"ignored: {what} {status} after {held}", status=status)
        return True
    return False


def _reserved_by(fact: PortabilityDataprevAnswered, rules: LoanRules) -> bool:
    """The portability leg's averbação is done: BD among Dataprev's successes, or an error whose
    Port+Refin action (the pinned seed 002 table) is "Confirmar averbação" (HX) wherever it is listed —
    seed 002 §10 lists one answer per reservation method, so the last one need not be the portability's."""
    return any(ENUMERATOR_ALIASES.get(e, e) == "successfully_included" for e in fact.successes) or any(
        rules.averbacao_action(e, port_refin=True) == LenderAction.CONFIRM for e in fact.errors
    )


def needs_correction(state: LoanState) -> bool:
    """Dataprev's last answer carries the action "cancel": the loan ends unless its data is corrected."""
    answer = state.last_dataprev
    return answer is not None and answer.action == LenderAction.CANCEL.value


def provider_moved_on(state: LoanState) -> bool:
    """The provider has taken the signature (or is already past it, averbação answers included)."""
    return (
        state.signature_received
        or state.collateral_constituted
        or state.last_dataprev is not None
        or state.pending_action is not None
    )
