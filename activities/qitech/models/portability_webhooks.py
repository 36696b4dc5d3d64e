"""The webhooks of the Port+Refin flow: the typed models of ``activities.qitech.models.portability``
plus the new-credit ones the flow shares (the refinancing leg's ``credit_operation.collateral`` and the
``pending_requester_action`` family), read by the gateway's own parser
(``activities.qitech.models.webhooks.parse_webhook``, whose union holds them all) and nothing else:
envelope allowed, unknown fields and enumerators kept, ``WebhookRejected`` and nothing else on a bad
body, and a webhook of another flow refused.
"""

from __future__ import annotations

from typing import Any

from activities.qitech.enumerators import WebhookType
from activities.qitech.models.webhooks import ProviderWebhook, WebhookRejected, parse_webhook, webhook_object
from activities.qitech.portability_enumerators import PortRefinWebhookType

PORT_REFIN_WEBHOOK_TYPES = frozenset(t.value for t in PortRefinWebhookType) | {
    WebhookType.COLLATERAL.value,
    WebhookType.MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY.value,
    WebhookType.MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE.value,
    WebhookType.SUCCESS_BALANCE_REQUEST_NOT_FOUND.value,
}
"""Every webhook type a Port+Refin proposal can cause."""


def parse_port_refin_webhook(payload: Any) -> ProviderWebhook:
    """Parse a decoded Port+Refin webhook (envelope allowed) as the gateway parses every webhook, and
    refuse any other type. Raises WebhookRejected, never anything else.

    Each result has ``key``: the proposal for the proposal-keyed types, the credit operation for the
    refinancing leg's collateral and the pending actions, the query for the origin contract.
    """
    webhook_type = webhook_object(payload).get("webhook_type")
    if not isinstance(webhook_type, str):
        raise WebhookRejected("missing_field", "webhook_type is missing or not a string")
    if webhook_type not in PORT_REFIN_WEBHOOK_TYPES:
        raise WebhookRejected("unknown_webhook_type", f"webhook_type {webhook_type[:80]!r} is not a Port+Refin one")
    return parse_webhook(payload)


__all__ = ["PORT_REFIN_WEBHOOK_TYPES", "parse_port_refin_webhook"]
