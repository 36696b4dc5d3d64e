"""Webhook bodies (seeds 001/002/004), one model per ``webhook_type``, and their tolerant parser."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import simplejson
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from activities.qitech.enumerators import (
    ConsultationStatus,
    DebtStatus,
    PendingRequesterAction,
    ReservationStatus,
    WebhookType,
)
from activities.qitech.models.consultation import BalanceData, BenefitSummary, ConsultationFailure
from activities.qitech.models.debt import CollateralWebhookData, DebtData
from activities.qitech.models.portability import (
    PortabilityAuthorizationWebhook,
    PortabilityOriginContractWebhook,
    PortabilityProposalCollateralWebhook,
    ProposalCreditOperationWebhook,
    ProposalWebhook,
)
from activities.qitech.portability_enumerators import PROPOSAL_KEYED_WEBHOOK_TYPES, PortRefinWebhookType
from activities.tolerant import InboundModel, LenientDatetime, Unknown, open_enum_validator
from activities.wire import MAX_DEPTH, decode

ConsultationStatusField = Annotated[ConsultationStatus | Unknown, open_enum_validator(ConsultationStatus)]


class _Webhook(InboundModel):
    key: str
    event_datetime: LenientDatetime | None = None
    # credit_operation.collateral webhooks say event_time instead (seed 001/004 §7, §11).
    event_time: LenientDatetime | None = None

    @property
    def occurred_at(self) -> Any:
        return self.event_datetime if self.event_datetime is not None else self.event_time


class BenefitsRequestWebhook(_Webhook):
    webhook_type: Literal["social_security_benefits_request"]
    status: ConsultationStatusField
    data: list[BenefitSummary] | ConsultationFailure


class BalanceRequestWebhook(_Webhook):
    webhook_type: Literal["social_security_balance_request"]
    status: ConsultationStatusField
    data: ConsultationFailure | BalanceData


class DebtWebhook(_Webhook):
    webhook_type: Literal["debt"]
    status: Annotated[DebtStatus | Unknown, open_enum_validator(DebtStatus)]
    data: DebtData = Field(default_factory=DebtData)


class ReservationStatusData(InboundModel):
    # The page's example is cut after the year: read as a date or a datetime, whichever it is.
    confirmation_deadline: LenientDatetime | None = None


class ReservationStatusWebhook(_Webhook):
    """``laas.social_security.reservation.status_change`` (anuência): the averbação succeeded and the
    reservation waits for the beneficiary's confirmation in Meu INSS until ``confirmation_deadline``;
    the provider sends it again each time it asks Dataprev (every 3 h) while it waits."""

    webhook_type: Literal["laas.social_security.reservation.status_change"]
    status: Annotated[ReservationStatus | Unknown, open_enum_validator(ReservationStatus)]
    data: ReservationStatusData = Field(default_factory=ReservationStatusData)


class CollateralWebhook(_Webhook):
    """``credit_operation.collateral``: averbação succeeded (constituted) or its last attempt failed."""

    webhook_type: Literal["credit_operation.collateral"]
    data: CollateralWebhookData


_RESERVATION_AMOUNT = re.compile(r"Reservation Amount:\s*([0-9]+(?:\.[0-9]+)?)")


class PendingRequesterActionData(InboundModel):
    enumerator: Annotated[PendingRequesterAction | Unknown, open_enum_validator(PendingRequesterAction)]
    description: str | None = None

    @property
    def reservation_amount(self) -> Decimal | None:
        """The installment Dataprev refused, printed inside the description ("Reservation Amount: 551.18")."""
        match = _RESERVATION_AMOUNT.search(self.description or "")
        return Decimal(match.group(1)) if match else None


class PendingRequesterActionWebhook(_Webhook):
    """Averbação waiting for the lender (seed 004 §7); delivered inside a ``{"webhook": {...}}`` envelope."""

    webhook_type: Literal[
        "social_security_margin_exceeded_for_new_beneficiary",
        "social_security_margin_exceeded_for_minimum_wage_increase",
        "social_security_success_balance_request_not_found",
    ]
    status: str | None = None
    data: PendingRequesterActionData


ProviderWebhook = Annotated[
    BenefitsRequestWebhook
    | BalanceRequestWebhook
    | DebtWebhook
    | CollateralWebhook
    | ReservationStatusWebhook
    | PendingRequesterActionWebhook
    # Port+Refin (seed 002 and the public pages; provider.models.portability): routed by proposal_key,
    # a leg's credit operation key or the origin-contract query's key.
    | ProposalWebhook
    | ProposalCreditOperationWebhook
    | PortabilityAuthorizationWebhook
    | PortabilityProposalCollateralWebhook
    | PortabilityOriginContractWebhook,
    Field(discriminator="webhook_type"),
]

WEBHOOK_ADAPTER: TypeAdapter[ProviderWebhook] = TypeAdapter(ProviderWebhook)


class ReceivedWebhook(BaseModel):
    """A webhook as the gateway accepted it: its identity, when it arrived, and the parsed body.

    This is what travels (as a Temporal signal) from the gateway to the loan.
    """

    event_id: str
    received_at: AwareDatetime
    webhook: ProviderWebhook

    @property
    def key(self) -> str:
        return self.webhook.key


KNOWN_WEBHOOK_TYPES = frozenset(t.value for t in WebhookType) | frozenset(t.value for t in PortRefinWebhookType)
_DEBT_STATUSES = frozenset(s.value for s in DebtStatus)


class WebhookRejected(ValueError):
    """A webhook we cannot accept; ``reason`` is a short counter label, the message says what is wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def load_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON keeping every number exact (Decimal), as the money in it deserves; nesting deeper
    than any provider body is refused (``TooDeep``) before the parser recurses into it."""
    return decode(body, max_depth=max_depth)


def unwrap(payload: Any) -> Any:
    """The pending_requester_action family (and seed 002's webhooks) arrive as ``{"webhook": {...}}``;
    fields added beside it (an ``event_key``) do not change what the webhook is."""
    if isinstance(payload, dict) and isinstance(payload.get("webhook"), dict) and "webhook_type" not in payload:
        return payload["webhook"]
    return payload


def event_identity(payload: Any) -> str:
    """The identity of one provider event: a digest of its canonical JSON.

    A provider retry after a lost 2xx, or a duplicate delivery, carries the same body and so the
    same identity; two different events differ at least in their timestamp or data.
    """
    canonical = simplejson.dumps(unwrap(payload), sort_keys=True, separators=(",", ":"), use_decimal=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        parts.append(f"{location or '(body)'}: {item['msg']}")
    return "; ".join(parts)


def webhook_object(payload: Any) -> dict[str, Any]:
    """The webhook itself (envelope unwrapped); anything but a JSON object is refused."""
    body = unwrap(payload)
    if not isinstance(body, dict):
        raise WebhookRejected("malformed", "webhook body must be a JSON object")
    return body


def parse_webhook(payload: Any) -> ProviderWebhook:
    """Parse an already-decoded webhook body (envelope allowed). Raises WebhookRejected, never anything else."""
    body = webhook_object(payload)
    webhook_type = body.get("webhook_type")
    if webhook_type is None and body.get("status") in _DEBT_STATUSES and isinstance(body.get("data"), dict):
        # The TED-refusal example (seeds 001/004 §8) has no webhook_type although its section says
        # WEBHOOK_TYPE debt; a debt status with a data object can only be a debt webhook.
        webhook_type = WebhookType.DEBT.value
        body = {**body, "webhook_type": webhook_type}
    if webhook_type is None:
        raise WebhookRejected("missing_field", "webhook_type is missing")
    if not isinstance(webhook_type, str):
        raise WebhookRejected("invalid_field", f"webhook_type must be a string, not {type(webhook_type).__name__}")
    if webhook_type not in KNOWN_WEBHOOK_TYPES:
        raise WebhookRejected("unknown_webhook_type", f"webhook_type {str(webhook_type)[:80]!r} is not one we handle")
    key_field = "proposal_key" if webhook_type in PROPOSAL_KEYED_WEBHOOK_TYPES else "key"
    if not body.get(key_field):
        raise WebhookRejected("missing_field", f"{key_field} is missing")
    if not isinstance(body[key_field], str):
        raise WebhookRejected("invalid_field", f"{key_field} must be a string")
    try:
        return WEBHOOK_ADAPTER.validate_python(body)
    except ValidationError as error:
        raise WebhookRejected("invalid_field", _describe(error)) from None


def parse_webhook_bytes(body: bytes) -> tuple[ProviderWebhook, str]:
    """Decode and parse a raw webhook body; returns the model and the event identity."""
    payload = _decoded(body)
    return parse_webhook(payload), event_identity(payload)


def parse_webhook_body(body: bytes) -> ProviderWebhook:
    """Decode and parse a raw webhook body whose identity is already known (the relay's: the inbox
    row carries it), without digesting its canonical JSON again."""
    return parse_webhook(_decoded(body))


def _decoded(body: bytes) -> Any:
    try:
        return load_json(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookRejected("malformed_json", f"body is not valid JSON: {error}") from None


DEBT_FACTS = frozenset({"cancel_reason", "cancel_reason_enumerator", "ted_refusal", "pix_refusal"})
"""What a loan reads of a debt webhook's ``data`` (loan.facts): the rest (the contract, its options and
installments — hundreds of KB for 84 installments) is the issuance answer the loan already has."""


def for_the_loan(webhook: ProviderWebhook) -> ProviderWebhook:
    """The webhook as the loan needs it: a debt webhook's ``data`` cut to the facts the loan reads,
    so whole provider bodies do not travel through the relay and sit in every loan's history."""
    if not isinstance(webhook, DebtWebhook):
        return webhook
    kept = {name: getattr(webhook.data, name) for name in DEBT_FACTS if getattr(webhook.data, name) is not None}
    return webhook.model_copy(update={"data": DebtData.model_validate(kept)})
