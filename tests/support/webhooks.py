"""Provider webhooks in the seeds' shapes, wrapped as the gateway wraps them (ReceivedWebhook)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from activities.qitech.models.webhooks import ReceivedWebhook, event_identity, parse_webhook
from domain.calendar import SAO_PAULO


def received(body: dict[str, Any], *, event_id: str | None = None) -> ReceivedWebhook:
    return ReceivedWebhook(
        event_id=event_id or event_identity(body),
        received_at=datetime.now(SAO_PAULO),
        webhook=parse_webhook(body),
    )


def _stamp() -> str:
    return datetime.now(SAO_PAULO).strftime("%Y-%m-%d %H:%M:%S.%f")


def benefits_success(key: str, benefit_numbers: list[str]) -> ReceivedWebhook:
    return received(
        {
            "webhook_type": "social_security_benefits_request",
            "key": key,
            "event_datetime": _stamp(),
            "status": "success",
            "data": [
                {"benefit_number": n, "benefit_status": "elegible", "grant_date": "2020-06-13"} for n in benefit_numbers
            ],
        }
    )


def consultation_failure(kind: str, key: str, enumerator: str = "inexistent_beneficiary") -> ReceivedWebhook:
    return received(
        {
            "webhook_type": f"social_security_{kind}_request",
            "key": key,
            "event_datetime": _stamp(),
            "status": "failure",
            "data": {"enumerator": enumerator, "description": "no beneficiary found"},
        }
    )


def balance_success(key: str, benefit_number: str, *, ddb: date | None = None, **changes: Any) -> ReceivedWebhook:
    data: dict[str, Any] = {
        "name": "MARIA DA SILVA",
        "state": "SP",
        "alimony": "not_payer",
        "birth_date": "08071959",
        "grant_date": (ddb or date(2020, 6, 13)).isoformat(),
        "credit_type": "checking_account",
        "block_type": "not_blocked",
        "benefit_number": benefit_number,
        "benefit_status": "elegible",
        "assistance_type": "retirement_by_age",
        "document_number": "14950479032",
        "benefit_end_date": None,
        "benefit_situation": "active",
        "max_total_balance": 2450,
        "used_total_balance": 950,
        "available_total_balance": 1500,
        "has_entity_representation": False,
    }
    data.update(changes)
    return received(
        {
            "webhook_type": "social_security_balance_request",
            "key": key,
            "event_datetime": _stamp(),
            "status": "success",
            "data": data,
        }
    )


def debt(key: str, status: str, data: dict[str, Any] | None = None) -> ReceivedWebhook:
    return received(
        {"key": key, "data": data or {}, "status": status, "webhook_type": "debt", "event_datetime": _stamp()}
    )


def canceled(key: str, enumerator: str, reason: str | None = None) -> ReceivedWebhook:
    return debt(key, "canceled", {"cancel_reason": reason or enumerator, "cancel_reason_enumerator": enumerator})


def ted_refusal(key: str) -> ReceivedWebhook:
    return received(
        {
            "status": "canceled",
            "key": key,
            "data": {
                "ted_refusal": {"reason_enumerator": "agencia_conta_invalida", "amount": 483.6, "stamp": _stamp()},
                "cancel_reason": "ted_refusal",
            },
        }
    )


def collateral_success(key: str) -> ReceivedWebhook:
    return received(
        {
            "key": key,
            "data": {"collateral_type": "social_security", "collateral_constituted": True},
            "event_time": _stamp(),
            "webhook_type": "credit_operation.collateral",
        }
    )


def collateral_error(key: str, enumerator: str) -> ReceivedWebhook:
    return received(
        {
            "webhook_type": "credit_operation.collateral",
            "key": key,
            "event_time": datetime.now(SAO_PAULO).strftime("%Y-%m-%dT%H:%M:%S"),
            "data": {
                "collateral_type": "social_security",
                "collateral_constituted": False,
                "collateral_data": {
                    "status": "pending_reservation",
                    "last_response": {"errors": [{"enumerator": enumerator}]},
                    "last_response_event_datetime": "2023-05-22T19:13:02Z",
                    "reservation_method": "new_credit",
                },
            },
        },
        event_id=str(uuid.uuid4()),
    )


def pending_action(key: str, enumerator: str, amount: str = "300.00") -> ReceivedWebhook:
    webhook_type = {
        "margin_exceeded_for_new_beneficiary": "social_security_margin_exceeded_for_new_beneficiary",
        "margin_exceeded_for_minimum_wage_increase": "social_security_margin_exceeded_for_minimum_wage_increase",
        "success_balance_request_not_found": "social_security_success_balance_request_not_found",
    }[enumerator]
    return received(
        {
            "webhook": {
                "key": key,
                "data": {
                    "enumerator": enumerator,
                    "description": f"The margin for this reservation has been exceeded. Reservation Amount: {amount}",
                },
                "status": "pending_requester_action",
                "webhook_type": webhook_type,
                "event_datetime": datetime.now(SAO_PAULO).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            }
        }
    )
