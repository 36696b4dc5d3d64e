"""What the provider's lookups say, in the words of its webhooks: a loan that has heard nothing for
too long asks the provider (the debt by ``requester_identifier_key``, the collateral's last Dataprev
answer) and applies the answer as the webhook it may have missed, through the same reducer.

Only what a lookup states without ambiguity becomes an event: the signature taken, the money paid
out, the debt canceled for good, the averbação done or answered. A plain ``canceled`` is not one: the
webhook that carries it also says why (a refused payment to present again, a window that ran out),
and the lookup does not.
"""

from __future__ import annotations

from typing import Any

from activities.qitech.enumerators import DISBURSEMENT_SUCCESS_STATUSES, DebtStatus
from activities.qitech.models.debt import CollateralView, CreditOperationView
from activities.qitech.models.portability import ProposalAnswer
from activities.qitech.models.webhooks import ProviderWebhook, WebhookRejected, parse_webhook
from activities.qitech.portability_enumerators import (
    CreditOperationLeg,
    CreditOperationStatus,
    PortRefinWebhookType,
    ProposalStatus,
)

SIGNATURE_TAKEN = frozenset({DebtStatus.SIGNATURE_FINISHED, DebtStatus.SIGNED, DebtStatus.ISSUED})
LOOKUP_EVENT_PREFIX = "lookup"


def debt_event(debt_key: str, operation: CreditOperationView) -> tuple[str, ProviderWebhook] | None:
    """(identity, webhook) for the debt's status, when it is one a loan can act on."""
    status = operation.credit_operation_status_enumerator
    if status in DISBURSEMENT_SUCCESS_STATUSES or status == DebtStatus.CANCELED_PERMANENTLY:
        said = str(status)
    elif status in SIGNATURE_TAKEN:
        said = DebtStatus.SIGNED.value  # issued: signed, waiting for the disbursement date
    else:
        return None
    body = {"webhook_type": "debt", "key": debt_key, "status": said, "data": {}}
    return f"{LOOKUP_EVENT_PREFIX}:{debt_key}:debt:{said}", parse_webhook(body)


def collateral_event(debt_key: str, collateral: CollateralView) -> tuple[str, ProviderWebhook] | None:
    """(identity, webhook) for the averbação's state: done, or Dataprev's last answer."""
    data: dict[str, Any] = collateral.model_dump(mode="json", exclude_none=True)
    last = collateral.collateral_data.last_response if collateral.collateral_data else None
    answered = last is not None and bool(last.errors or last.success)
    if not collateral.collateral_constituted and not answered:
        return None
    moment = collateral.collateral_data.last_response_event_datetime if collateral.collateral_data else None
    body = {"webhook_type": "credit_operation.collateral", "key": debt_key, "data": data}
    identity = "constituted" if collateral.collateral_constituted else str(moment or "answer")
    try:
        webhook = parse_webhook(body)
    except WebhookRejected:
        return None  # a view we cannot read as the webhook: the next webhook or lookup will say
    return f"{LOOKUP_EVENT_PREFIX}:{debt_key}:collateral:{identity}", webhook


# ---------------------------------------------------------------- a portability proposal

# What a proposal's status says without its webhook's detail: every status but "not sent yet". A
# rejection or a retention read this way has no reason (the webhook carries it); the loan says so.
PROPOSAL_SAID = frozenset(s.value for s in ProposalStatus) - {ProposalStatus.PENDING_SUBMISSION.value}
LEG_SAID = frozenset({CreditOperationStatus.DISBURSED.value, CreditOperationStatus.CANCELED.value})


def proposal_events(
    answer: ProposalAnswer, collaterals: dict[CreditOperationLeg, CollateralView]
) -> list[tuple[str, ProviderWebhook]]:
    """(identity, webhook) for what a proposal read back says: its status, a leg disbursed or
    canceled, each leg's averbação (the portability leg's as ``credit_transfer.proposal.collateral``,
    the refinancing leg's as the new-credit collateral webhook keyed by the leg, seed 002 §11)."""
    key, found = answer.proposal_key, []
    status = str(answer.proposal_status) if answer.proposal_status is not None else None
    if status in PROPOSAL_SAID:
        data = {"portability_number": answer.portability_number} if answer.portability_number else {}
        body = {"webhook_type": PortRefinWebhookType.PROPOSAL.value, "proposal_key": key, "proposal_status": status}
        found.append((f"{LOOKUP_EVENT_PREFIX}:{key}:proposal:{status}", parse_webhook({**body, "data": data})))
    for leg in CreditOperationLeg:
        operation = answer.leg(leg)
        if operation is None:
            continue
        leg_key = operation.credit_operation_key
        leg_status = str(operation.credit_operation_status) if operation.credit_operation_status else None
        if leg_status in LEG_SAID:
            data = {"credit_operation_type": leg.operation_type.value, "credit_operation_key": leg_key}
            body = {"webhook_type": PortRefinWebhookType.PROPOSAL_CREDIT_OPERATION.value, "proposal_key": key}
            webhook = parse_webhook({**body, "data": {**data, "credit_operation_status": leg_status}})
            found.append((f"{LOOKUP_EVENT_PREFIX}:{leg_key}:leg:{leg_status}", webhook))
        view = collaterals.get(leg)
        if view is not None and leg is CreditOperationLeg.REFINANCING:
            event = collateral_event(leg_key, view)
        elif view is not None:
            event = _portability_collateral_event(key, leg_key, view)
        else:
            event = None
        if event is not None:
            found.append(event)
    return found


def _portability_collateral_event(
    proposal_key: str, leg_key: str, view: CollateralView
) -> tuple[str, ProviderWebhook] | None:
    last = view.collateral_data.last_response if view.collateral_data else None
    if not view.collateral_constituted and not (last is not None and (last.errors or last.success)):
        return None
    moment = view.collateral_data.last_response_event_datetime if view.collateral_data else None
    data: dict[str, Any] = view.model_dump(mode="json", exclude_none=True)
    data |= {
        "credit_operation_type": CreditOperationLeg.PORTABILITY.operation_type.value,
        "credit_operation_key": leg_key,
    }
    body = {"webhook_type": PortRefinWebhookType.PROPOSAL_COLLATERAL.value, "proposal_key": proposal_key, "data": data}
    identity = "constituted" if view.collateral_constituted else str(moment or "answer")
    try:
        return f"{LOOKUP_EVENT_PREFIX}:{leg_key}:collateral:{identity}", parse_webhook(body)
    except WebhookRejected:
        return None
