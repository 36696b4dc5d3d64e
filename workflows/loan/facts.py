"""The facts reducer: a provider event changes facts in the loan's state, and nothing else.

Pure: no Temporal, no I/O, no clock (``now`` is passed in). The workflow's signal handler calls
:func:`receive`; the stage logic then reads the facts, so duplicated, late and out-of-order
webhooks are harmless. Events are applied once, by identity; an event whose provider key the loan
does not know yet is buffered and applied by :func:`drain` once the key is the loan's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from activities.qitech.enumerators import (
    DISBURSEMENT_SUCCESS_STATUSES,
    CancelReason,
    ConsultationStatus,
    DebtStatus,
    PendingRequesterAction,
)
from activities.qitech.models.consultation import BalanceData, ConsultationFailure
from activities.qitech.models.portability import (
    OriginContractFailure,
    PortabilityAuthorizationWebhook,
    PortabilityOriginContractWebhook,
    PortabilityProposalCollateralWebhook,
    ProposalCreditOperationWebhook,
    ProposalWebhook,
)
from activities.qitech.models.webhooks import (
    BalanceRequestWebhook,
    BenefitsRequestWebhook,
    CollateralWebhook,
    DebtWebhook,
    PendingRequesterActionWebhook,
    ReceivedWebhook,
)
from activities.qitech.portability_enumerators import (
    FINAL_PROPOSAL_STATUSES,
    CreditOperationStatus,
    CreditOperationType,
    PortabilityAuthorizationStatus,
    ProposalStatus,
)
from activities.tolerant import unknown_values
from domain.inss import AVERBACAO_ERRORS, ENUMERATOR_ALIASES, LenderAction, averbacao_action, averbacao_return
from workflows.loan.rules import LoanRules
from workflows.loan.state import DataprevAnswer, EventRecord, LoanState, PortabilityFacts, Stage

MAX_EVENT_RECORDS = 200
MAX_UNKNOWN_NOTES = 50
REFUSALS = frozenset({CancelReason.TED_REFUSAL.value, CancelReason.PIX_REFUSAL.value})
MARGIN_EXCEEDED = frozenset(
    {
        PendingRequesterAction.MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY.value,
        PendingRequesterAction.MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE.value,
    }
)
DATAPREV_CODES = {row.enumerator: row.code for row in AVERBACAO_ERRORS}
SIGNATURE_ACCEPTED = frozenset({DebtStatus.SIGNATURE_RECEIVED, DebtStatus.SIGNATURE_FINISHED, DebtStatus.SIGNED})


REMEMBERED_EVENT_IDS = 500


def receive(state: LoanState, event: ReceivedWebhook, *, rules: LoanRules, now: datetime) -> None:
    """A delivery of a provider event: applied once, buffered while its key is not the loan's."""
    if event.event_id in state.seen_event_ids:
        state.duplicate_events += 1
        return
    state.seen_event_ids.append(event.event_id)
    # Bounded, and carried across continue-as-new: the relay delivers at least once, and a
    # redelivery comes soon after the first (a relay crash, a lost mark), never hundreds of events later.
    del state.seen_event_ids[:-REMEMBERED_EVENT_IDS]
    if state.closed:
        record(state, event, "ignored: the loan is closed")
    elif event.key in state.known_keys():
        apply_event(state, event, rules=rules, now=now)
    else:
        # The webhook beat the activity that learns its key: keep it until the key is ours.
        state.buffered.append(event)


def drain(state: LoanState, *, rules: LoanRules, now: datetime) -> None:
    """Apply the buffered events whose key the loan has learnt since they arrived."""
    known = state.known_keys()
    ready = [e for e in state.buffered if e.key in known]
    state.buffered = [e for e in state.buffered if e.key not in known]
    for event in ready:
        apply_event(state, event, rules=rules, now=now)


def record(
    state: LoanState, event: ReceivedWebhook, effect: str, status: str | None = None, detail: str | None = None
) -> None:
    """What the loan did with an event, for operators (the full payload stays in the history)."""
    webhook = event.webhook
    occurred = getattr(webhook, "occurred_at", None)
    state.events.append(
        EventRecord(
            event_id=event.event_id,
            webhook_type=str(webhook.webhook_type),
            key=webhook.key,
            status=status if status is not None else (str(getattr(webhook, "status", "") or "") or None),
            detail=detail,
            occurred_at=occurred if isinstance(occurred, datetime) else None,
            received_at=event.received_at,
            effect=effect,
        )
    )
    del state.events[:-MAX_EVENT_RECORDS]


def note_unknown(state: LoanState, note: str) -> None:
    """A value no table knows: kept visible for operators instead of guessed at."""
    state.unknown_values.append(note)
    del state.unknown_values[:-MAX_UNKNOWN_NOTES]


def apply_event(state: LoanState, event: ReceivedWebhook, *, rules: LoanRules, now: datetime) -> None:
    webhook = event.webhook
    for path, raw in unknown_values(webhook):
        note_unknown(state, f"{webhook.webhook_type} {path}={raw!r}")
    if isinstance(webhook, BenefitsRequestWebhook):
        _benefits(state, event, webhook)
    elif isinstance(webhook, BalanceRequestWebhook):
        _balance(state, event, webhook)
    elif isinstance(webhook, DebtWebhook):
        _debt(state, event, webhook, now)
    elif isinstance(webhook, CollateralWebhook):
        _collateral(state, event, webhook, rules)
    elif isinstance(webhook, PendingRequesterActionWebhook):
        _pending(state, event, webhook)
    elif isinstance(webhook, PORT_REFIN_WEBHOOKS) and state.portability is not None:
        _portability(state, state.portability, event, webhook)
    else:
        record(state, event, "ignored: not a webhook of this product")


def _benefits(state: LoanState, event: ReceivedWebhook, webhook: BenefitsRequestWebhook) -> None:
    if isinstance(webhook.data, ConsultationFailure):
        state.consultation_failure = str(webhook.data.enumerator)
        record(state, event, "benefits request failed", detail=state.consultation_failure)
    elif webhook.status == ConsultationStatus.SUCCESS:
        state.listed_benefits = [b.benefit_number for b in webhook.data]
        record(state, event, f"{len(state.listed_benefits)} benefit(s) listed")
    else:
        record(state, event, "ignored: consultation still pending")


def _balance(state: LoanState, event: ReceivedWebhook, webhook: BalanceRequestWebhook) -> None:
    if state.balance_request_keys and webhook.key != state.balance_request_keys[-1]:
        record(state, event, "ignored: answer to an earlier balance request")
        return
    if isinstance(webhook.data, ConsultationFailure):
        state.balance_failure = str(webhook.data.enumerator)
        record(state, event, "balance request failed", detail=state.balance_failure)
    elif isinstance(webhook.data, BalanceData) and webhook.status == ConsultationStatus.SUCCESS:
        state.balance = webhook.data.to_facts()
        record(state, event, "benefit data received")
    else:
        record(state, event, "ignored: consultation still pending")


def _debt(state: LoanState, event: ReceivedWebhook, webhook: DebtWebhook, now: datetime) -> None:
    status = webhook.status
    reason = webhook.data.cancel_enumerator
    if status in SIGNATURE_ACCEPTED:
        state.signature_received = True
        record(state, event, "signature accepted")
    elif status in DISBURSEMENT_SUCCESS_STATUSES:
        state.disbursed = True
        record(state, event, "disbursed")
    elif status == DebtStatus.CANCELED and reason in REFUSALS:
        if state.disbursed:
            record(state, event, "ignored: already disbursed")
            return
        state.refusal = f"{reason}: {webhook.data.refusal_reason or 'no reason given'}"
        state.refusals += 1
        record(state, event, "payment refused", detail=state.refusal)
    elif status == DebtStatus.CANCELED:
        state.provider_final_status = DebtStatus.CANCELED.value
        state.provider_final_reason = _cancel_reason(state, reason, now)
        record(state, event, "canceled by the provider", detail=state.provider_final_reason)
    elif status == DebtStatus.CANCELED_PERMANENTLY:
        state.provider_final_status = DebtStatus.CANCELED_PERMANENTLY.value
        state.provider_final_reason = reason or (
            "provider validation of the documents or assistance_type failed"
            if state.stage in {Stage.SIGNATURE_VALIDATION, Stage.AWAITING_SIGNATURE}
            else "canceled permanently by the provider"
        )
        record(state, event, "canceled permanently by the provider", detail=state.provider_final_reason)
    else:
        record(state, event, f"noted: debt {status}")


def _cancel_reason(state: LoanState, reason: str | None, now: datetime) -> str:
    # Seed 004 §4: when the window runs out the provider cancels with its "manual" reason.
    end = state.disbursement_window_end
    if reason == CancelReason.MANUAL.value and end is not None and now >= end - timedelta(hours=1):
        return "disbursement_window_expired"
    return reason or "canceled by the provider"


def _collateral(state: LoanState, event: ReceivedWebhook, webhook: CollateralWebhook, rules: LoanRules) -> None:
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
        record(state, event, "averbação done")
        return
    successes = webhook.data.success_enumerators
    if rules.edition >= 2 and successes and not webhook.data.error_enumerators:
        _reservation_success(state, event, successes, at)
        return
    if state.collateral_constituted:
        record(state, event, "ignored: averbação already done")
        return
    for enumerator in webhook.data.error_enumerators or ["(no enumerator)"]:
        row = averbacao_return(enumerator)
        action = rules.averbacao_action(enumerator)
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
        record(state, event, f"averbação answer ({state.last_dataprev.action})", detail=enumerator)


RESERVATION_SUCCESSES = {
    "successfully_removed": "reservation removed at Dataprev (desaverbação)",
    "successfully_reactivated": "reservation reactivated at Dataprev",
    "successfully_suspended": "reservation suspended at Dataprev",
}


def _reservation_success(state: LoanState, event: ReceivedWebhook, successes: list[str], at: datetime) -> None:
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
            record(state, event, "averbação done")
        elif canonical in RESERVATION_SUCCESSES:
            state.reservation_status = canonical
            record(state, event, RESERVATION_SUCCESSES[canonical], detail=canonical)
        else:
            note_unknown(state, f"averbação success {enumerator!r} is in no table")
            record(state, event, "noted: unknown Dataprev success", detail=enumerator)


def _pending(state: LoanState, event: ReceivedWebhook, webhook: PendingRequesterActionWebhook) -> None:
    if state.collateral_constituted:
        record(state, event, "ignored: averbação already done")
        return
    state.pending_action = str(webhook.data.enumerator)
    state.pending_reservation_amount = webhook.data.reservation_amount
    record(state, event, "averbação waits for the lender", detail=state.pending_action)


PORT_REFIN_WEBHOOKS = (
    ProposalWebhook,
    PortabilityAuthorizationWebhook,
    ProposalCreditOperationWebhook,
    PortabilityProposalCollateralWebhook,
    PortabilityOriginContractWebhook,
)
HW_MARGIN_EXCEEDED = "consignable_margin_excceded"  # HW, spelled as the seeds spell it


def _portability(
    state: LoanState,
    facts: PortabilityFacts,
    event: ReceivedWebhook,
    webhook: ProposalWebhook
    | PortabilityAuthorizationWebhook
    | ProposalCreditOperationWebhook
    | PortabilityProposalCollateralWebhook
    | PortabilityOriginContractWebhook,
) -> None:
    """A portability proposal's news (Port+Refin): the CTC, the consent, the origin bank, the payoff,
    each leg's averbação and the troco."""
    if isinstance(webhook, ProposalWebhook):
        status, data = str(webhook.proposal_status), webhook.data
        facts.portability_number = data.portability_number or facts.portability_number
        if _late_proposal_status(facts.proposal_status, status):
            record(state, event, f"ignored: proposal {status} after {facts.proposal_status}", status=status)
            return
        facts.proposal_status = status
        if status == ProposalStatus.REJECTED and data.error is not None:
            facts.ctc_rejection = " ".join(
                part for part in (data.error.code, data.error.reason or data.error.description) if part
            )
        elif status == ProposalStatus.ACCEPTED:
            facts.final_due_balance = data.final_due_balance or facts.final_due_balance
        elif status == ProposalStatus.RETAINED and data.retained_reason is not None:
            facts.retention = str(data.retained_reason.reason)
        elif status == ProposalStatus.PAID:
            facts.paid = True
        record(state, event, f"proposal {status}", status=status, detail=facts.ctc_rejection or facts.retention)
    elif isinstance(webhook, PortabilityAuthorizationWebhook):
        consent = str(webhook.portability_authorization_status)
        deadline = webhook.data.expiration_date
        facts.consent_deadline = deadline if isinstance(deadline, date) else facts.consent_deadline
        if consent == PortabilityAuthorizationStatus.AWAITING_CONFIRMATION and facts.consent_status in CONSENT_DECIDED:
            record(state, event, f"ignored: consent {consent} after {facts.consent_status}", status=consent)
            return
        facts.consent_status = consent
        record(state, event, f"consent {facts.consent_status}", status=facts.consent_status)
    elif isinstance(webhook, ProposalCreditOperationWebhook):
        leg, leg_status = str(webhook.data.credit_operation_type), str(webhook.data.credit_operation_status)
        if leg_status == CreditOperationStatus.DISBURSED and leg == CreditOperationType.REFINANCING:
            facts.troco_disbursed = True
        elif leg_status == CreditOperationStatus.CANCELED and leg not in facts.legs_canceled:
            facts.legs_canceled.append(leg)
        record(state, event, f"{leg} leg {leg_status}", status=leg_status)
    elif isinstance(webhook, PortabilityProposalCollateralWebhook):
        answer = webhook.data
        if answer.collateral_constituted or _reserved_by(webhook):
            facts.portability_reserved = True
            record(state, event, "portability leg reserved at Dataprev")
        else:
            # Port+Refin's table: every error is teimosinha but HX (seed 002 §14); the provider retries.
            facts.last_portability_answer = ", ".join(answer.error_enumerators) or None
            facts.margin_exceeded = (
                bool(answer.error_enumerators) and answer.error_enumerators[-1] == HW_MARGIN_EXCEEDED
            )
            record(state, event, "portability leg: averbação answer", detail=facts.last_portability_answer)
    elif isinstance(webhook, PortabilityOriginContractWebhook):
        if isinstance(webhook.data, OriginContractFailure):
            facts.origin_query_failure = webhook.data.enumerator
            record(state, event, "origin contract not found", detail=facts.origin_query_failure)
        else:
            facts.released_installment = webhook.data.released_installments
            record(state, event, "origin contract: released", detail=str(facts.released_installment))


# The proposal's statuses in the order the flow reaches them (maquinas-de-status): a webhook that
# arrives after a later one is late news (the relay delivers at least once, in any order).
PROPOSAL_PROGRESS = {
    ProposalStatus.PENDING_SUBMISSION.value: 0,
    ProposalStatus.PENDING_RESPONSE.value: 1,
    ProposalStatus.REJECTED.value: 2,
    ProposalStatus.PENDING_ACCEPTANCE.value: 2,
    ProposalStatus.ACCEPTED.value: 3,
    ProposalStatus.RETAINED.value: 3,
    ProposalStatus.SETTLEMENT_SENT.value: 4,
    ProposalStatus.PENDING_SETTLEMENT_CONFIRMATION.value: 5,
    ProposalStatus.PAID.value: 6,
}
CONSENT_DECIDED = frozenset(
    s.value
    for s in (
        PortabilityAuthorizationStatus.CONFIRMED,
        PortabilityAuthorizationStatus.EXPIRED,
        PortabilityAuthorizationStatus.DENIED,
    )
)


def _late_proposal_status(current: str | None, new: str) -> bool:
    """A final status is never left, and a known status never moves the proposal back (else a late
    ``pending_acceptance`` would hide the origin bank's ``accepted`` the workflow waits for)."""
    if current is None or current == new:
        return False
    if current in FINAL_PROPOSAL_STATUSES:
        return True
    return (
        new in PROPOSAL_PROGRESS
        and current in PROPOSAL_PROGRESS
        and PROPOSAL_PROGRESS[new] < PROPOSAL_PROGRESS[current]
    )


def _reserved_by(webhook: PortabilityProposalCollateralWebhook) -> bool:
    """The portability leg's averbação is done: BD among Dataprev's successes, or an error whose
    Port+Refin action is "Confirmar averbação" (HX) wherever it is listed — seed 002 §10 lists one
    answer per reservation method, so the last one need not be the portability's."""
    answer = webhook.data
    return any(ENUMERATOR_ALIASES.get(e, e) == "successfully_included" for e in answer.success_enumerators) or any(
        averbacao_action(e, portability=True) == LenderAction.CONFIRM for e in answer.error_enumerators
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
