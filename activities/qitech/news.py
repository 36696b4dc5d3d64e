"""The first provider's webhooks in the loan's words (``workflows.loan.news``): the port's inbound edge.

The relay translates every webhook here before it signals the loan, and the lookups translate the
provider's state the same way, so nothing of this provider's wire (its enumerators, its statuses, its
envelope) travels past this module into workflow code. :func:`earlier_news` reads the older shape —
the webhook itself — that loans recorded before this edge received; the worker registers it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from activities.qitech.enumerators import (
    DISBURSEMENT_SUCCESS_STATUSES,
    CancelReason,
    ConsultationStatus,
    DebtStatus,
    ReservationStatus,
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
    ProviderWebhook,
    ReceivedWebhook,
    ReservationStatusWebhook,
)
from activities.tolerant import unknown_values
from workflows.loan import news

SIGNATURE_ACCEPTED = frozenset({DebtStatus.SIGNATURE_RECEIVED, DebtStatus.SIGNATURE_FINISHED, DebtStatus.SIGNED})
"""``signature_received`` (seed 001) and ``signature_finished`` (the published state machine) both mean
the provider has the signature."""
CANCEL_CAUSES = {
    CancelReason.MANUAL.value: news.CancelCause.BY_HAND,
    # Anuência (the pending_confirmation page): which field carries it is not shown; both are read.
    CancelReason.CONFIRMATION_DENIED.value: news.CancelCause.CONFIRMATION_DENIED,
    CancelReason.CONFIRMATION_EXPIRED.value: news.CancelCause.CONFIRMATION_EXPIRED,
}
PAYMENT_REFUSALS = frozenset({CancelReason.TED_REFUSAL.value, CancelReason.PIX_REFUSAL.value})


def translate(received: ReceivedWebhook) -> news.ProviderNews:
    """One webhook, as the loan reads it."""
    webhook = received.webhook
    occurred = getattr(webhook, "occurred_at", None)
    return news.ProviderNews(
        event_id=received.event_id,
        key=webhook.key,
        received_at=received.received_at,
        occurred_at=occurred if isinstance(occurred, datetime) else None,
        source=str(webhook.webhook_type),
        status=str(getattr(webhook, "status", "") or "") or None,
        fact=_fact(webhook),
        unknown=[f"{path}={raw!r}" for path, raw in unknown_values(webhook)],
    )


def earlier_news(payload: dict[str, Any]) -> dict[str, Any]:
    """A webhook in the shape loans received before this edge (``ReceivedWebhook``), as news."""
    return translate(ReceivedWebhook.model_validate(payload)).model_dump()


def _fact(webhook: ProviderWebhook) -> news.Fact:
    if isinstance(webhook, BenefitsRequestWebhook):
        if isinstance(webhook.data, ConsultationFailure):
            return news.ConsultationFailed(consultation="benefits", reason=str(webhook.data.enumerator))
        if webhook.status == ConsultationStatus.SUCCESS:
            return news.BenefitsListed(benefits=[b.benefit_number for b in webhook.data])
        return news.ConsultationPending(consultation="benefits")
    if isinstance(webhook, BalanceRequestWebhook):
        if isinstance(webhook.data, ConsultationFailure):
            return news.ConsultationFailed(consultation="balance", reason=str(webhook.data.enumerator))
        if isinstance(webhook.data, BalanceData) and webhook.status == ConsultationStatus.SUCCESS:
            return news.BalanceReceived(balance=webhook.data.to_facts())
        return news.ConsultationPending(consultation="balance")
    if isinstance(webhook, DebtWebhook):
        return _debt(webhook)
    if isinstance(webhook, CollateralWebhook):
        data = webhook.data
        return news.DataprevAnswered(
            constituted=data.collateral_constituted, successes=data.success_enumerators, errors=data.error_enumerators
        )
    if isinstance(webhook, ReservationStatusWebhook):
        if webhook.status != ReservationStatus.PENDING_CONFIRMATION:
            return news.NothingToAct()  # a status the page does not print: recorded, noted as unknown
        deadline = webhook.data.confirmation_deadline
        return news.ConfirmationPending(deadline=deadline if isinstance(deadline, datetime) else None)
    if isinstance(webhook, PendingRequesterActionWebhook):
        return news.LenderActionNeeded(
            action=str(webhook.data.enumerator), reservation_amount=webhook.data.reservation_amount
        )
    return _portability(webhook)


def _debt(webhook: DebtWebhook) -> news.DebtMoved:
    status, reason = webhook.status, webhook.data.cancel_enumerator
    if status in SIGNATURE_ACCEPTED:
        return news.DebtMoved(phase=news.DebtPhase.SIGNATURE_ACCEPTED)
    if status in DISBURSEMENT_SUCCESS_STATUSES:
        return news.DebtMoved(phase=news.DebtPhase.DISBURSED)
    if status == DebtStatus.CANCELED and reason in PAYMENT_REFUSALS:
        return news.DebtMoved(phase=news.DebtPhase.PAYMENT_REFUSED, reason=reason, refusal=webhook.data.refusal_reason)
    if status == DebtStatus.CANCELED:
        cause = CANCEL_CAUSES.get(reason or "", news.CancelCause.OTHER)
        return news.DebtMoved(phase=news.DebtPhase.CANCELED, reason=reason, cause=cause)
    if status == DebtStatus.CANCELED_PERMANENTLY:
        return news.DebtMoved(phase=news.DebtPhase.CANCELED_PERMANENTLY, reason=reason)
    return news.DebtMoved(phase=news.DebtPhase.OTHER)


def _portability(webhook: ProviderWebhook) -> news.Fact:
    if isinstance(webhook, ProposalWebhook):
        data, error = webhook.data, webhook.data.error
        rejection = (
            " ".join(part for part in (error.code, error.reason or error.description) if part) if error else None
        )
        return news.ProposalMoved(
            status=str(webhook.proposal_status),
            portability_number=data.portability_number,
            rejection=rejection,
            final_due_balance=data.final_due_balance,
            retention=str(data.retained_reason.reason) if data.retained_reason is not None else None,
        )
    if isinstance(webhook, PortabilityAuthorizationWebhook):
        deadline = webhook.data.expiration_date
        return news.ConsentMoved(
            status=str(webhook.portability_authorization_status),
            deadline=deadline if isinstance(deadline, date) else None,
        )
    if isinstance(webhook, ProposalCreditOperationWebhook):
        return news.LegMoved(
            leg=str(webhook.data.credit_operation_type), status=str(webhook.data.credit_operation_status)
        )
    if isinstance(webhook, PortabilityProposalCollateralWebhook):
        answer = webhook.data
        return news.PortabilityDataprevAnswered(
            constituted=answer.collateral_constituted,
            successes=answer.success_enumerators,
            errors=answer.error_enumerators,
        )
    if isinstance(webhook, PortabilityOriginContractWebhook):
        if isinstance(webhook.data, OriginContractFailure):
            return news.OriginContractAnswered(failure=webhook.data.enumerator)
        return news.OriginContractAnswered(released_installment=webhook.data.released_installments)
    return news.NothingToAct()
