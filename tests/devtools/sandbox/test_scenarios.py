"""The sandbox behaves as the manuals' sandbox sections say, over real HTTP, with real webhooks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.client import ProviderClient
from activities.qitech.models.debt import (
    BalanceRequestConfirmation,
    ChangeDisbursementDate,
    CollateralCorrection,
    Recalculate,
)
from activities.qitech.models.webhooks import BalanceRequestWebhook, parse_webhook
from devtools.sandbox.scenarios import benefit_number_for
from tests.conftest import SandboxUnderTest
from tests.support.builders import attached, balance_request, benefits_request, issuance_request, signature, today
from tests.support.data import jpeg, make_cpf, png

pytestmark = pytest.mark.integration


def _scenario(sandbox: SandboxUnderTest, cpf: str, **scenario: Any) -> None:
    with sandbox.admin() as admin:
        admin.put(f"/_sandbox/scenarios/{cpf}", json=scenario).raise_for_status()


async def _upload(provider: ProviderClient, content: bytes) -> str:
    uploaded = await provider.upload_document(
        content, filename="doc.jpg", content_type="image/jpeg", idempotency_key=str(uuid.uuid4())
    )
    return uploaded.document_key


async def _signed_debt(
    provider: ProviderClient,
    cpf: str,
    *,
    documents: list[bytes] | None = None,
    requester_key: str | None = None,
    **kw: Any,
) -> str:
    """Issue, attach three documents, sign; returns the debt key."""
    answer = await provider.issue_debt(issuance_request(cpf, requester_key or str(uuid.uuid4()), **kw))
    keys = [await _upload(provider, d) for d in (documents or [jpeg(), jpeg(color=(1, 2, 3)), jpeg(320, 400)])]
    assert answer.data.borrower and answer.data.borrower.related_party_key
    await provider.attach_documents(answer.key, answer.data.borrower.related_party_key, attached(*keys))
    signed = await provider.sign(answer.key, signature())
    assert signed.status == "signature_received"
    return answer.key


def _status(webhook: dict[str, Any]) -> tuple[str, Any]:
    return webhook.get("webhook_type", "debt"), webhook.get(
        "status", webhook.get("data", {}).get("collateral_constituted")
    )


# ------------------------------------------------------------------ consultation by first digit


@pytest.mark.parametrize(
    ("digit", "status", "enumerator"),
    # The benefits list is not on the Mocks page: the digits it knows list the benefit (ours), the others
    # answer mock_error as the older manual did.
    [(1, "success", None), (2, "success", None), (8, "success", None), (7, "failure", "mock_error")],
)
async def test_benefits_request_outcome_by_first_digit(
    sandbox: SandboxUnderTest, provider: ProviderClient, digit: int, status: str, enumerator: str | None
) -> None:
    cpf = make_cpf(digit)
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    [arrived] = sandbox.receiver.wait_for(created.benefits_request_key)
    assert arrived.authentic
    webhook = parse_webhook(arrived.payload)
    assert webhook.webhook_type == "social_security_benefits_request" and webhook.status == status
    if enumerator:
        assert webhook.data.enumerator == enumerator  # type: ignore[union-attr]
    else:
        assert [b.benefit_number for b in webhook.data] == [benefit_number_for(cpf)]  # type: ignore[union-attr]


# The provider's Mocks (Sandbox) page, https://docs.qitech.com.br/documentation/guides/INSS/mocks-sandbox:
# "Cenários por primeiro dígito" — margemDisponivel (consigned_credit.balance) 431.3 for 1, 3, 4 and 8; the
# card/RCC margin reduced to R$ 75,90 for 3 and zero for 8; 2 Dataprev's D1; 0, 5, 6, 7, 9 the QIE error
# "CPF divergente da massa de teste informada na documentação.".
PAGE_MARGIN = Decimal("431.3")


async def _benefit_data(sandbox: SandboxUnderTest, provider: ProviderClient, digit: int) -> dict[str, Any]:
    created = await provider.request_balance(
        balance_request(make_cpf(digit), "1234567890"), idempotency_key=str(uuid.uuid4())
    )
    assert created.status == "pending_authorization"  # sent with the term (case 2)
    [arrived] = sandbox.receiver.wait_for(created.balance_request_key)
    assert isinstance(parse_webhook(arrived.payload), BalanceRequestWebhook)
    payload: dict[str, Any] = arrived.payload
    return payload


@pytest.mark.parametrize(("digit", "rcc"), [(1, None), (3, Decimal("75.90")), (4, None), (8, Decimal("0"))])
async def test_the_mocks_pages_margins_by_first_digit(
    sandbox: SandboxUnderTest, provider: ProviderClient, digit: int, rcc: Decimal | None
) -> None:
    payload = await _benefit_data(sandbox, provider, digit)
    assert payload["status"] == "success"
    data = payload["data"]
    assert Decimal(str(data["consigned_credit"]["balance"])) == PAGE_MARGIN
    assert (data["benefit_status"], data["block_type"], data["benefit_situation"]) == (
        "elegible",
        "not_blocked",
        "active",
    )
    full_card = Decimal(str(data["consigned_card"]["balance"]))  # RMC: the page names none, so full
    assert Decimal(str(data["benefit_card"]["balance"])) == (full_card if rcc is None else rcc)
    assert rcc is None or rcc < full_card  # "reduzida", "zerada": below the full card margin
    total = Decimal(str(data["available_total_balance"]))
    assert total == PAGE_MARGIN + full_card + Decimal(str(data["benefit_card"]["balance"]))


async def test_the_mocks_pages_digit_2_is_dataprevs_d1(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    payload = await _benefit_data(sandbox, provider, 2)
    assert payload["status"] == "failure"
    assert payload["data"]["enumerator"] == "inconsistent_balance_benefit_data"  # D1 (seed 004 §12)


@pytest.mark.parametrize("digit", [0, 5, 6, 7, 9])
async def test_the_mocks_pages_other_digits_are_no_mock(
    sandbox: SandboxUnderTest, provider: ProviderClient, digit: int
) -> None:
    payload = await _benefit_data(sandbox, provider, digit)
    assert payload["status"] == "failure"
    assert "QIE" in payload["data"]["description"]
    assert "CPF divergente da massa de teste informada na documentação." in payload["data"]["description"]


async def test_a_balance_request_without_the_term_is_pending_search(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    without_term = await provider.request_balance(
        balance_request(make_cpf(1), "1234567890", with_term=False), idempotency_key=str(uuid.uuid4())
    )
    assert without_term.status == "pending_search"  # case 1


# ------------------------------------------------------------------ averbação by first digit


async def test_cpf_1_is_averbado_and_disbursed(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    key = await _signed_debt(provider, make_cpf(1))
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed")
    sequence = [_status(r.inner) for r in sandbox.receiver.for_key(key)]
    assert sequence == [
        ("debt", "waiting_signature"),
        ("debt", "signature_received"),
        ("credit_operation.collateral", True),
        ("debt", "disbursed"),
    ]
    collateral = await provider.get_collateral(key)
    assert collateral.collateral_constituted is True
    assert collateral.collateral_data and collateral.collateral_data.status == "reserved"


@pytest.mark.parametrize(
    ("digit", "enumerator"), [(2, "invalid_disbursement_account"), (3, "operation_not_allowed_IR")]
)
async def test_cpf_2_and_3_fail_averbacao_with_cancel(
    sandbox: SandboxUnderTest, provider: ProviderClient, digit: int, enumerator: str
) -> None:
    cpf = make_cpf(digit)
    _scenario(sandbox, cpf, consultation="success")  # issuance does not depend on it; harmless
    key = await _signed_debt(provider, cpf)
    [canceled] = sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled")
    errors = [
        r.inner for r in sandbox.receiver.for_key(key) if r.inner.get("webhook_type") == "credit_operation.collateral"
    ]
    assert errors[0]["data"]["collateral_data"]["last_response"]["errors"] == [{"enumerator": enumerator}]
    assert canceled.inner["data"]["cancel_reason_enumerator"] == enumerator
    view = await provider.get_collateral(key)
    assert view.collateral_data and view.collateral_data.last_response
    assert view.collateral_data.last_response.errors[0].enumerator == enumerator


async def test_a_collateral_correction_within_the_grace_saves_a_cpf_2_loan(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(2)
    key = await _signed_debt(provider, cpf)
    sandbox.receiver.wait_for(key, lambda w: w.get("webhook_type") == "credit_operation.collateral")
    await provider.correct_collateral(
        key,
        CollateralCorrection.model_validate(
            {
                "disbursement_bank_account": {
                    "bank_code": "341",
                    "account_branch": "0155",
                    "account_number": "59923",
                    "account_digit": "6",
                    "document_number": cpf,
                }
            }
        ),
    )
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed")
    assert not [r for r in sandbox.receiver.for_key(key) if r.inner.get("status") == "canceled"]


async def test_other_first_digits_get_mock_error_in_teimosinha(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    key = await _signed_debt(provider, make_cpf(5))
    errors = sandbox.receiver.wait_for(
        key, lambda w: w.get("webhook_type") == "credit_operation.collateral", count=2, timeout=10
    )
    assert {e.inner["data"]["collateral_data"]["last_response"]["errors"][0]["enumerator"] for e in errors} == {
        "mock_error"
    }
    await provider.cancel_permanently(key)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled_permanently")


# ------------------------------------------------------------------ the other documented paths


async def test_teimosinha_then_success(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, averbacao=["consignable_margin_excceded", "benefit_blocked_by_tbm", "success"])
    key = await _signed_debt(provider, cpf)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
    collateral = [
        r.inner["data"]
        for r in sandbox.receiver.for_key(key)
        if r.inner.get("webhook_type") == "credit_operation.collateral"
    ]
    assert [c["collateral_constituted"] for c in collateral] == [False, False, True]


async def test_margin_exceeded_waits_for_a_smaller_installment(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, averbacao=["pending:margin_exceeded_for_new_beneficiary", "success"])
    key = await _signed_debt(provider, cpf)
    [pending] = sandbox.receiver.wait_for(key, lambda w: w.get("status") == "pending_requester_action")
    assert "webhook" in pending.payload  # the envelope of seed 004 §7
    webhook = parse_webhook(pending.payload)
    assert webhook.data.reservation_amount == Decimal("101.84")  # type: ignore[union-attr]
    answer = await provider.recalculate(key, Recalculate(installment_face_value=Decimal("90.00")))
    assert answer.data.disbursement_options[0].installments[0].total_amount == Decimal("90.00")
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed")


async def test_balance_request_not_found_needs_a_new_balance_request_then_confirmation(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, averbacao=["pending:success_balance_request_not_found", "success"])
    key = await _signed_debt(provider, cpf, benefit_number="1112223334")
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "pending_requester_action")
    balance = await provider.request_balance(balance_request(cpf, "1112223334"), idempotency_key=str(uuid.uuid4()))
    sandbox.receiver.wait_for(balance.balance_request_key)
    await provider.confirm_balance_request(
        key, BalanceRequestConfirmation(balance_request_key=balance.balance_request_key)
    )
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed")


@pytest.mark.parametrize("refusal", ["ted_refusal", "pix_refusal"])
async def test_refused_disbursement_then_reapresentacao(
    sandbox: SandboxUnderTest, provider: ProviderClient, refusal: str
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, disbursement=[refusal, "success"])
    key = await _signed_debt(provider, cpf)
    [canceled] = sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled")
    webhook = parse_webhook(canceled.payload)
    assert webhook.data.cancel_enumerator == refusal  # type: ignore[union-attr]
    if refusal == "ted_refusal":
        assert "webhook_type" not in canceled.payload  # as seeds 001/004 §8 print it
    changed = await provider.change_disbursement_date(
        key, ChangeDisbursementDate(disbursement_date=today() + timedelta(days=2))
    )
    assert changed.disbursement_date == today() + timedelta(days=2)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed")


async def test_ddb_rule_cancels_permanently_with_its_reason(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, ddb=(today() - timedelta(days=20)).isoformat())
    answer = await provider.issue_debt(issuance_request(cpf, str(uuid.uuid4()), limit_days=5))
    [final] = sandbox.receiver.wait_for(answer.key, lambda w: w.get("status") == "canceled_permanently")
    reason = "social_security_margin_release_after_disbursement_end_date"
    assert final.inner["data"]["cancel_reason_enumerator"] == reason


@pytest.mark.parametrize(
    "documents",
    [[png(), jpeg(), jpeg(color=(9, 9, 9))], [jpeg(200, 300), jpeg(), jpeg(color=(9, 9, 9))]],
    ids=["not-jpeg", "too-small"],
)
async def test_bad_documents_cancel_permanently_after_signature(
    sandbox: SandboxUnderTest, provider: ProviderClient, documents: list[bytes]
) -> None:
    key = await _signed_debt(provider, make_cpf(1), documents=documents)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled_permanently")
    assert not [r for r in sandbox.receiver.for_key(key) if r.inner.get("status") == "signature_received"]


async def test_issuance_is_idempotent_on_requester_identifier_key(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    requester = str(uuid.uuid4())
    request = issuance_request(make_cpf(1), requester)
    first = await provider.issue_debt(request)
    again = await provider.issue_debt(request)
    assert first.key == again.key
    assert first.data.contract and again.data.contract and first.data.contract.number == again.data.contract.number
    with sandbox.admin() as admin:
        assert admin.get("/_sandbox/debts", params={"requester_identifier_key": requester}).json() == [first.key]


async def test_issuance_answer_carries_the_engines_numbers(provider: ProviderClient) -> None:
    answer = await provider.issue_debt(issuance_request(make_cpf(1), str(uuid.uuid4()), limit_days=3))
    options = answer.data.disbursement_options
    assert len(options) == 4  # one per day of the window
    assert all(o.installments[0].total_amount == Decimal("101.84") for o in options)
    assert all(o.monthly_cet is not None and o.monthly_cet > Decimal("0.0166") for o in options)


async def test_window_expiry_cancels_with_the_manual_reason(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    answer = await provider.issue_debt(issuance_request(make_cpf(1), str(uuid.uuid4())))
    with sandbox.admin() as admin:
        admin.post(f"/_sandbox/debts/{answer.key}/expire_window").raise_for_status()
    [canceled] = sandbox.receiver.wait_for(answer.key, lambda w: w.get("status") == "canceled")
    assert canceled.inner["data"] == {
        "cancel_reason": "Operacao cancelada manualmente",
        "cancel_reason_enumerator": "manual",
    }
