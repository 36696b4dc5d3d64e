"""Inbound tolerance and outbound strictness of the provider models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from activities.qitech.enumerators import DebtStatus
from activities.qitech.models.consultation import AuthorizationTerm, BalanceRequest
from activities.qitech.models.debt import AttachedDocuments, CollateralCorrection, SignatureEvidence
from activities.qitech.models.simulation import DebtSimulationRequest, Financial
from activities.qitech.models.webhooks import (
    DebtWebhook,
    PendingRequesterActionWebhook,
    WebhookRejected,
    event_identity,
    load_json,
    parse_webhook,
    parse_webhook_bytes,
)
from activities.tolerant import Unknown, unknown_values
from activities.wire import encode
from domain.calendar import SAO_PAULO


def _debt_webhook(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"webhook_type": "debt", "key": "k", "status": "signature_received", "data": {}}
    body.update(overrides)
    return body


def test_unknown_fields_are_kept() -> None:
    webhook = parse_webhook(_debt_webhook(brand_new={"x": 1}))
    assert webhook.model_extra == {"brand_new": {"x": 1}}


def test_unknown_enum_value_is_kept_raw_and_flagged() -> None:
    webhook = parse_webhook(_debt_webhook(status="awaiting_something_new"))
    assert isinstance(webhook, DebtWebhook)
    assert isinstance(webhook.status, Unknown)
    assert webhook.status == "awaiting_something_new"
    assert list(unknown_values(webhook)) == [("status", "awaiting_something_new")]


def test_known_enum_values_match_case_insensitively() -> None:
    balance = parse_webhook(
        {
            "webhook_type": "social_security_balance_request",
            "key": "k",
            "status": "success",
            "data": {"benefit_number": "1", "benefit_status": "Elegible"},
        }
    )
    assert balance.data.benefit_status == "elegible"  # type: ignore[union-attr]
    assert not isinstance(balance.data.benefit_status, Unknown)  # type: ignore[union-attr]


def test_naive_provider_times_are_brasilia_time_and_z_times_are_utc() -> None:
    naive = parse_webhook(_debt_webhook(event_datetime="2022-11-07 13:54:58"))
    assert naive.event_datetime == datetime(2022, 11, 7, 13, 54, 58, tzinfo=SAO_PAULO)
    zulu = parse_webhook(_debt_webhook(event_datetime="2023-05-22T19:13:02Z"))
    assert zulu.event_datetime == datetime(2023, 5, 22, 19, 13, 2, tzinfo=UTC)


def test_money_in_webhooks_is_exact() -> None:
    webhook, _ = parse_webhook_bytes(
        b'{"webhook_type":"debt","key":"k","status":"waiting_signature","data":{"disbursement_options":'
        b'[{"disbursement_date":"2024-11-07","base_iof":176.6603785598479778,"issue_amount":909.75}]}}'
    )
    option = webhook.data.disbursement_options[0]  # type: ignore[union-attr]
    assert option.base_iof == Decimal("176.6603785598479778")
    assert option.issue_amount == Decimal("909.75")


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (b"{not json", "malformed_json", "not valid JSON"),
        (b"[1, 2]", "malformed", "JSON object"),
        (b'{"key": "k", "data": {}}', "missing_field", "webhook_type"),
        (b'{"webhook_type": "debt", "status": "canceled", "data": {}}', "missing_field", "key"),
        (b'{"webhook_type": "loan_exploded", "key": "k"}', "unknown_webhook_type", "loan_exploded"),
        (
            b'{"webhook_type": "credit_operation.collateral", "key": "k", "data": {}}',
            "invalid_field",
            "collateral_constituted",
        ),
    ],
)
def test_bad_webhooks_are_rejected_with_a_reason_naming_the_problem(body: bytes, reason: str, message: str) -> None:
    with pytest.raises(WebhookRejected, match=message) as caught:
        parse_webhook_bytes(body)
    assert caught.value.reason == reason


def test_same_body_same_identity_and_envelope_does_not_matter() -> None:
    inner = {
        "key": "k",
        "webhook_type": "social_security_success_balance_request_not_found",
        "status": "x",
        "data": {"enumerator": "success_balance_request_not_found"},
    }
    assert event_identity(inner) == event_identity({"webhook": inner})
    assert event_identity(load_json(b'{"a": 1.50, "b": 2}')) == event_identity(load_json(b'{"b":2,"a":1.50}'))
    assert event_identity(_debt_webhook(event_datetime="2024-01-01 10:00:00")) != event_identity(
        _debt_webhook(event_datetime="2024-01-01 10:00:01")
    )


def test_a_field_added_beside_the_envelope_does_not_hide_the_webhook() -> None:
    inner = {
        "key": "k",
        "webhook_type": "social_security_margin_exceeded_for_new_beneficiary",
        "status": "pending_requester_action",
        "data": {"enumerator": "margin_exceeded_for_new_beneficiary", "description": "x"},
    }
    webhook = parse_webhook({"webhook": inner, "event_key": "e-1"})
    assert isinstance(webhook, PendingRequesterActionWebhook)
    assert (webhook.key, webhook.status) == ("k", "pending_requester_action")


def test_ted_refusal_without_webhook_type_is_read_as_a_debt_webhook() -> None:
    webhook = parse_webhook({"status": "canceled", "key": "k", "data": {"cancel_reason": "ted_refusal"}})
    assert webhook.webhook_type == "debt"
    assert webhook.status == DebtStatus.CANCELED


# ------------------------------------------------------------------ outbound


def _term(cpf: str = "14950479032", representative: str | None = None) -> dict[str, object]:
    return {
        "document_number": cpf,
        "legal_representative_document_number": representative,
        "signature": {
            "signer": {
                "name": "Fulano",
                "email": "f@example.com",
                "phone": {"number": "999538380", "area_code": "84"},
                "document_number": representative or cpf,
            },
            "authenticity": {"timestamp": "2024-11-05T10:00:00-03:00", "ip_address": "10.0.0.1", "session_id": "s"},
            "signed_object": {"raw_text": "Autorizo a consulta..."},
        },
    }


def _messages(error: ValidationError) -> str:
    return " | ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())


def test_outbound_rejects_a_bad_cpf_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        BalanceRequest.model_validate({"document_number": "14950479033", "benefit_number": "1234567890"})
    assert "document_number" in _messages(caught.value)
    assert "check digits" in _messages(caught.value)


def test_outbound_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        BalanceRequest.model_validate({"document_number": "14950479032", "benefit_number": "1", "typo": 1})


def test_authorization_term_signer_must_be_the_legal_representative_when_there_is_one() -> None:
    AuthorizationTerm.model_validate(_term(representative="45102538004"))
    bad = _term(representative="45102538004")
    bad["signature"]["signer"]["document_number"] = "14950479032"  # type: ignore[index]
    with pytest.raises(ValidationError, match="legal representative"):
        AuthorizationTerm.model_validate(bad)


def test_signed_object_needs_exactly_one_of_key_or_text() -> None:
    both = _term()
    both["signature"]["signed_object"] = {"raw_text": "x", "document_key": str(uuid4())}  # type: ignore[index]
    with pytest.raises(ValidationError, match="exactly one"):
        AuthorizationTerm.model_validate(both)


def _financial(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "first_due_date": "2024-12-07",
        "disbursement_date": "2024-11-05",
        "limit_days_to_disburse": 3,
        "number_of_installments": 4,
        "installment_face_value": "100",
        "monthly_interest_rate": "0.018",
        "fine_configuration": {"monthly_rate": "0.01", "contract_fine_rate": "0.02"},
    }
    base.update(overrides)
    return base


def test_financial_needs_exactly_two_of_installment_disbursed_rate() -> None:
    Financial.model_validate(_financial())
    with pytest.raises(ValidationError, match="exactly two"):
        Financial.model_validate(_financial(disbursed_amount="1000"))
    with pytest.raises(ValidationError, match="exactly two"):
        Financial.model_validate(_financial(monthly_interest_rate=None))


def test_money_with_more_than_two_places_is_refused() -> None:
    with pytest.raises(ValidationError, match="2 decimal places"):
        Financial.model_validate(_financial(installment_face_value="100.001"))


def test_wire_encoding_writes_exact_numbers_and_the_benefit_number_as_a_number() -> None:
    request = DebtSimulationRequest.model_validate({"financial": _financial(installment_face_value="101.84")})
    text = encode(request).decode()
    assert '"installment_face_value": 101.84' in text
    assert '"monthly_interest_rate": 0.018' in text
    assert '"first_due_date": "2024-12-07"' in text
    balance = BalanceRequest.model_validate({"document_number": "14950479032", "benefit_number": "2052711150"})
    assert '"benefit_number": 2052711150' in encode(balance).decode()


def test_attached_documents_must_be_three_different_documents() -> None:
    key = uuid4()
    with pytest.raises(ValidationError, match="different documents"):
        AttachedDocuments(document_identification=key, document_identification_back=key, selfie=uuid4())


def test_signature_evidence_requires_a_score_unless_biometry_was_not_found() -> None:
    moment = datetime(2024, 11, 7, 15, 0, tzinfo=SAO_PAULO)
    SignatureEvidence(ip_address="192.168.0.1", signature_datetime=moment, biometry_analysis_reference="not_found")
    with pytest.raises(ValidationError, match="similarity_score is required"):
        SignatureEvidence(ip_address="192.168.0.1", signature_datetime=moment, biometry_analysis_reference="serpro")
    with pytest.raises(ValidationError, match="timezone"):
        SignatureEvidence(
            ip_address="192.168.0.1",
            signature_datetime=datetime(2024, 11, 7, 15, 0),
            similarity_score=Decimal("0.98"),
            biometry_analysis_reference="serpro",
        )


def test_collateral_correction_needs_something_to_correct() -> None:
    with pytest.raises(ValidationError, match="needs"):
        CollateralCorrection()
    assert CollateralCorrection(benefit_number="1234567890").benefit_number == "1234567890"
