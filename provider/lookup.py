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

from .enumerators import DISBURSEMENT_SUCCESS_STATUSES, DebtStatus
from .models.debt import CollateralView, CreditOperationView
from .models.webhooks import ProviderWebhook, WebhookRejected, parse_webhook

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
