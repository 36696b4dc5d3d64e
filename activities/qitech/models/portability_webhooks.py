"""One tolerant parser for every webhook of the Port+Refin flow, into the typed models of
``activities.qitech.models.portability`` (plus the new-credit ones the flow shares: the refinancing leg's
``credit_operation.collateral`` and the ``pending_requester_action`` family).

Why apart from ``activities.qitech.models.webhooks.parse_webhook``: that parser's union is part of the loan's
published contract (``contract/schemas``: ReceivedWebhook, LoanInput, LoanState are generated from
it), so adding the Port+Refin types there is a contract change, made with the workflow that consumes
them (then ``python -m devtools.contract``). Until then the gateway parks ``credit_transfer.proposal``
and friends as unknown types, and parses seed 002's two printed types with untyped ``data``; this
module is what reads them typed. Everything here keeps the gateway parser's rules: envelope
allowed, unknown fields and enumerators kept, ``WebhookRejected`` and nothing else on a bad body.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from activities.qitech.enumerators import WebhookType
from activities.qitech.models.portability import (
    PortabilityAuthorizationWebhook,
    PortabilityOriginContractWebhook,
    PortabilityProposalCollateralWebhook,
    ProposalCreditOperationWebhook,
    ProposalWebhook,
)
from activities.qitech.models.webhooks import CollateralWebhook, PendingRequesterActionWebhook, WebhookRejected, unwrap
from activities.qitech.portability_enumerators import PROPOSAL_KEYED_WEBHOOK_TYPES, PortRefinWebhookType

PortRefinWebhook = Annotated[
    ProposalWebhook
    | ProposalCreditOperationWebhook
    | PortabilityAuthorizationWebhook
    | PortabilityProposalCollateralWebhook
    | PortabilityOriginContractWebhook
    | CollateralWebhook
    | PendingRequesterActionWebhook,
    Field(discriminator="webhook_type"),
]

PORT_REFIN_ADAPTER: TypeAdapter[PortRefinWebhook] = TypeAdapter(PortRefinWebhook)

PORT_REFIN_WEBHOOK_TYPES = frozenset(t.value for t in PortRefinWebhookType) | {
    WebhookType.COLLATERAL.value,
    WebhookType.MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY.value,
    WebhookType.MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE.value,
    WebhookType.SUCCESS_BALANCE_REQUEST_NOT_FOUND.value,
}
"""Every webhook type a Port+Refin proposal can cause."""


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        parts.append(f"{location or '(body)'}: {item['msg']}")
    return "; ".join(parts)


def parse_port_refin_webhook(payload: Any) -> PortRefinWebhook:
    """Parse a decoded Port+Refin webhook (envelope allowed). Raises WebhookRejected, never anything else.

    Each result has ``key``: the proposal for the proposal-keyed types, the credit operation for the
    refinancing leg's collateral and the pending actions, the query for the origin contract.
    """
    body = unwrap(payload)
    if not isinstance(body, dict):
        raise WebhookRejected("malformed", "webhook body must be a JSON object")
    webhook_type = body.get("webhook_type")
    if not isinstance(webhook_type, str):
        raise WebhookRejected("missing_field", "webhook_type is missing or not a string")
    if webhook_type not in PORT_REFIN_WEBHOOK_TYPES:
        raise WebhookRejected("unknown_webhook_type", f"webhook_type {webhook_type[:80]!r} is not a Port+Refin one")
    key_field = "proposal_key" if webhook_type in PROPOSAL_KEYED_WEBHOOK_TYPES else "key"
    if not isinstance(body.get(key_field), str) or not body[key_field]:
        raise WebhookRejected("missing_field", f"{key_field} is missing or not a string")
    try:
        return PORT_REFIN_ADAPTER.validate_python(body)
    except ValidationError as error:
        raise WebhookRejected("invalid_field", _describe(error)) from None


__all__ = ["PORT_REFIN_WEBHOOK_TYPES", "PortRefinWebhook", "parse_port_refin_webhook"]
