"""The sandbox's Port+Refin (seed 002) over real HTTP, through our provider client, with the webhooks it
delivers (signed webhook-v2) parsed by our models: the happy path with troco, and each way the flow
can go elsewhere, selected per CPF with ``PUT /_sandbox/portability/scenarios/{cpf}``."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.client import ProviderClient
from activities.qitech.errors import ProviderBusinessError
from activities.qitech.models.portability import (
    InstallmentReduction,
    OriginContractFailure,
    OriginContractQuery,
    OriginContractResult,
    PortabilityAuthorizationWebhook,
    PortabilityOriginContractWebhook,
    PortabilityProposalCollateralWebhook,
    ProposalAnswer,
    ProposalCreditOperationWebhook,
    ProposalWebhook,
)
from activities.qitech.models.portability_webhooks import parse_port_refin_webhook
from activities.qitech.models.webhooks import CollateralWebhook, PendingRequesterActionWebhook
from activities.qitech.portability_enumerators import CreditOperationLeg, CtcRejectionReason
from tests.conftest import SandboxUnderTest
from tests.support.builders import balance_request, today
from tests.support.data import make_cpf
from tests.support.portability import leg_signature, proposal_request
from tests.support.receiver import Received

pytestmark = pytest.mark.integration

PORTABILITY, REFINANCING = CreditOperationLeg.PORTABILITY, CreditOperationLeg.REFINANCING
BENEFIT = "2052711150"
HAPPY_STATUSES = ["pending_acceptance", "accepted", "settlement_sent", "pending_settlement_confirmation", "paid"]


def _scenario(sandbox: SandboxUnderTest, cpf: str, **scenario: Any) -> None:
    with sandbox.admin() as admin:
        admin.put(f"/_sandbox/portability/scenarios/{cpf}", json=scenario).raise_for_status()


def _for_proposal(sandbox: SandboxUnderTest, proposal_key: str, webhook_type: str) -> list[Received]:
    return [
        r
        for r in list(sandbox.receiver.received)
        if r.inner.get("proposal_key") == proposal_key and r.inner.get("webhook_type") == webhook_type
    ]


def _wait_proposal(
    sandbox: SandboxUnderTest,
    proposal_key: str,
    webhook_type: str,
    predicate: Any = None,
    *,
    count: int = 1,
    timeout: float = 20.0,
) -> list[Received]:
    """The receiver's ``wait_for`` matches ``key``; Port+Refin webhooks carry ``proposal_key``."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            r for r in _for_proposal(sandbox, proposal_key, webhook_type) if predicate is None or predicate(r.inner)
        ]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [r.inner.get("proposal_status") or r.inner.get("webhook_type") for r in found]
            raise TimeoutError(f"waited {timeout} s for {count} {webhook_type} on {proposal_key}; got {seen}")
        time.sleep(0.02)


def _proposal_statuses(sandbox: SandboxUnderTest, proposal_key: str) -> list[str]:
    return [r.inner["proposal_status"] for r in _for_proposal(sandbox, proposal_key, "credit_transfer.proposal")]


def _status_is(status: str) -> Any:
    return lambda inner: inner.get("proposal_status") == status


async def _consulted(provider: ProviderClient, cpf: str, benefit_number: str = BENEFIT) -> None:
    """A successful balance request for the benefit: what the averbação needs first (proposta page)."""
    await provider.request_balance(balance_request(cpf, benefit_number), idempotency_key=str(uuid.uuid4()))


async def _propose(provider: ProviderClient, cpf: str, **kw: Any) -> ProposalAnswer:
    return await provider.create_proposal(proposal_request(cpf, BENEFIT, **kw), idempotency_key=str(uuid.uuid4()))


async def _sign(provider: ProviderClient, answer: ProposalAnswer) -> None:
    for kind in (PORTABILITY, REFINANCING):
        leg = answer.leg(kind)
        if leg is not None:
            assert leg.document_url
            signed = await provider.sign_leg(answer.proposal_key, kind, leg_signature(leg.document_url))
            assert signed.credit_operation_status == "signed"


def _leg_events(sandbox: SandboxUnderTest, proposal_key: str) -> list[ProposalCreditOperationWebhook]:
    parsed = [
        parse_port_refin_webhook(r.payload)
        for r in _for_proposal(sandbox, proposal_key, "credit_transfer.proposal.credit_operation")
    ]
    return [w for w in parsed if isinstance(w, ProposalCreditOperationWebhook)]


# ------------------------------------------------------------------ the CTC participants


async def test_participants_are_where_a_contract_can_come_from(provider: ProviderClient) -> None:
    participants = await provider.ctc_participants()
    assert participants.root, "seed 002 §9 lists banks"
    for bank in participants.root:
        assert bank.name and bank.bank_code and bank.ispb and len(bank.ispb) == 8
    cpf = make_cpf(1)
    unknown = "12345678"
    assert participants.by_ispb(unknown) is None
    with pytest.raises(ProviderBusinessError) as refused:
        await _propose(provider, cpf, origin_ispb=unknown)
    assert refused.value.status == 400


# ------------------------------------------------------------------ accepted with troco


async def test_accepted_with_troco_pays_off_the_origin_bank_reserves_both_legs_and_disburses_the_troco(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    await _consulted(provider, cpf)
    answer = await _propose(provider, cpf, balance="5000.00", installment="120.00", troco_installment="180.00")

    # The answer: sent to the CTC, both CCBs waiting for the borrower's signature.
    assert answer.proposal_status == "pending_response"
    portability, refinancing = answer.portability_credit_operation, answer.refinancing_credit_operation
    assert portability and refinancing
    assert portability.credit_operation_status == refinancing.credit_operation_status == "waiting_signature"
    assert portability.installment_value == Decimal("120.00")
    assert refinancing.installment_value == Decimal("180.00")
    option = refinancing.disbursement_options[0]
    assert option.disbursed_issue_amount is not None and refinancing.final_disbursement_amount is not None
    # The refinancing pays off the ported balance; the troco is the rest.
    assert refinancing.final_disbursement_amount == option.disbursed_issue_amount - Decimal("5000.00") > 0

    await _sign(provider, answer)
    key = answer.proposal_key
    _wait_proposal(sandbox, key, "credit_transfer.proposal", _status_is("paid"))
    assert _proposal_statuses(sandbox, key) == HAPPY_STATUSES

    by_status = {
        str(w.proposal_status): w
        for w in (parse_port_refin_webhook(r.payload) for r in _for_proposal(sandbox, key, "credit_transfer.proposal"))
        if isinstance(w, ProposalWebhook)
    }
    number = by_status["pending_acceptance"].data.portability_number
    assert number is not None and len(number) == 21 and number.isdigit()
    accepted = by_status["accepted"].data
    assert accepted.final_due_balance == Decimal("5000.00")
    assert accepted.portability_number == number
    assert accepted.original_contract and accepted.original_contract.origin_contract_number == "635967828"
    receipt = by_status["settlement_sent"].data.receipt
    assert receipt is not None and receipt.amount == Decimal("5000.00")
    assert receipt.destination and receipt.destination.bank_code == "237"

    # The consent: registered with a deadline 5 calendar days on, then confirmed, before the balance.
    consents = [
        w
        for w in (
            parse_port_refin_webhook(r.payload)
            for r in _for_proposal(sandbox, key, "credit_transfer.portability_authorization")
        )
        if isinstance(w, PortabilityAuthorizationWebhook)
    ]
    assert [c.portability_authorization_status for c in consents] == ["awaiting_confirmation", "confirmed"]
    registered = consents[0].data
    assert registered.requested_at is not None and registered.portability_number == number
    assert registered.expiration_date == today() + timedelta(days=5)
    assert consents[1].data.confirmation_date == today()

    # Both legs reserved: the portability's by credit_transfer.proposal.collateral, the
    # refinancing's by credit_operation.collateral keyed by the leg (seed 002 §11).
    [reserved] = _wait_proposal(
        sandbox, key, "credit_transfer.proposal.collateral", lambda w: w["data"]["collateral_constituted"]
    )
    collateral = parse_port_refin_webhook(reserved.payload)
    assert isinstance(collateral, PortabilityProposalCollateralWebhook) and reserved.authentic
    assert collateral.data.credit_operation_type == "portability"
    assert collateral.data.credit_operation_key == portability.credit_operation_key
    assert collateral.data.status == "reserved"
    [refin] = sandbox.receiver.wait_for(
        refinancing.credit_operation_key, lambda w: w["data"]["collateral_constituted"], timeout=20
    )
    refin_webhook = parse_port_refin_webhook(refin.payload)
    assert isinstance(refin_webhook, CollateralWebhook)
    assert refin_webhook.data.collateral_data and refin_webhook.data.collateral_data.reservation_method == "refinancing"

    # Then the troco.
    _wait_proposal(
        sandbox,
        key,
        "credit_transfer.proposal.credit_operation",
        lambda w: w["data"]["credit_operation_status"] == "disbursed",
    )
    [troco] = [e for e in _leg_events(sandbox, key) if e.data.credit_operation_status == "disbursed"]
    assert troco.data.credit_operation_type == "refinancing"
    assert troco.data.credit_operation_key == refinancing.credit_operation_key

    # The last response of each leg (seed 002 §10): reserved, its success and its reservation method.
    for kind, method in ((PORTABILITY, "portability"), (REFINANCING, "refinancing")):
        view = await provider.leg_collateral(key, kind)
        assert view.collateral_constituted is True
        assert view.collateral_data and view.collateral_data.status == "reserved"
        assert view.collateral_data.benefit_number == BENEFIT
        assert view.collateral_data.last_response
        [success] = view.collateral_data.last_response.success
        assert success.enumerator == "successfully_included" and success.reservation_method == method

    again = await provider.proposal(key)
    assert again.proposal_status == "paid" and again.portability_number == number
    assert again.refinancing_credit_operation
    assert again.refinancing_credit_operation.credit_operation_status == "disbursed"


async def test_a_repeated_creation_with_the_same_idempotency_key_is_the_same_proposal(provider: ProviderClient) -> None:
    request, idempotency_key = proposal_request(make_cpf(1), BENEFIT), str(uuid.uuid4())
    first = await provider.create_proposal(request, idempotency_key=idempotency_key)
    second = await provider.create_proposal(request, idempotency_key=idempotency_key)
    other = await provider.create_proposal(request, idempotency_key=str(uuid.uuid4()))
    assert second.proposal_key == first.proposal_key
    assert other.proposal_key != first.proposal_key


async def test_a_troco_below_the_published_minimum_is_refused(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    # The troco must be at least 5 % of (Σ refinancing installments − Σ portability installments),
    # else CT000118 (docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/simulacao).
    # 5,000.00 ported at 84 x 90.00; refinanced at 84 x 124.00 and 1.85 % a month, disbursed on
    # Wednesday 2026-12-02 and first due on Monday 2027-01-11, it releases about 60 above the balance,
    # against a minimum of 5 % of 84 x 34.00 = 142.80. The troco depends on the days between
    # disbursement and each due date, so the test fixes both.
    cpf = make_cpf(1)
    due = date(2027, 1, 11)
    with sandbox.on_day(date(2026, 12, 2)):
        with pytest.raises(ProviderBusinessError) as refused:
            await _propose(
                provider, cpf, installment="90.00", troco_installment="124.00", troco_rate="0.0185", first_due_date=due
            )
        assert refused.value.status == 400 and refused.value.code == "CT000118"
        assert "142.80" in (refused.value.description or "")
        # The control: at 84 x 130.00 the troco (about 300) is above its minimum (168.00).
        accepted = await _propose(
            provider, cpf, installment="90.00", troco_installment="130.00", troco_rate="0.0185", first_due_date=due
        )
    assert accepted.refinancing_credit_operation and accepted.refinancing_credit_operation.final_disbursement_amount
    assert accepted.refinancing_credit_operation.final_disbursement_amount > Decimal("168.00")


# ------------------------------------------------------------------ the ways it ends early


async def _ended_legs(sandbox: SandboxUnderTest, answer: ProposalAnswer) -> dict[str, str]:
    key = answer.proposal_key
    _wait_proposal(
        sandbox,
        key,
        "credit_transfer.proposal.credit_operation",
        lambda w: w["data"]["credit_operation_status"] == "canceled",
        count=2,
    )
    return {str(e.data.credit_operation_type): str(e.data.credit_operation_status) for e in _leg_events(sandbox, key)}


async def test_rejected_by_the_ctc_with_its_reason(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, ctc_rejection="ECTC0023")
    answer = await _propose(provider, cpf)
    [arrived] = _wait_proposal(sandbox, answer.proposal_key, "credit_transfer.proposal", _status_is("rejected"))
    rejected = parse_port_refin_webhook(arrived.payload)
    assert isinstance(rejected, ProposalWebhook) and rejected.data.error
    assert rejected.data.error.code == "ECTC0023"
    assert rejected.data.error.rejection_reason == CtcRejectionReason.PORTABILITY_IN_PROGRESS
    assert await _ended_legs(sandbox, answer) == {"portability": "canceled", "refinancing": "canceled"}
    assert _proposal_statuses(sandbox, answer.proposal_key) == ["rejected"]
    assert _for_proposal(sandbox, answer.proposal_key, "credit_transfer.portability_authorization") == []


async def test_retained_by_the_origin_bank_with_a_retention_reason(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, retention="issuer_lawsuit")
    answer = await _propose(provider, cpf)
    try:
        await _sign(provider, answer)
    except ProviderBusinessError as refused:
        # On a busy machine the origin bank's retention can come first: the legs are canceled already.
        assert refused.code == "CT000060", refused
    [arrived] = _wait_proposal(sandbox, answer.proposal_key, "credit_transfer.proposal", _status_is("retained"))
    retained = parse_port_refin_webhook(arrived.payload)
    assert isinstance(retained, ProposalWebhook) and retained.data.retained_reason
    assert retained.data.retained_reason.reason == "issuer_lawsuit"
    assert retained.data.retained_reason.description == "Cliente com ação judicial"  # seed 002 §14
    assert await _ended_legs(sandbox, answer) == {"portability": "canceled", "refinancing": "canceled"}
    assert _proposal_statuses(sandbox, answer.proposal_key) == ["pending_acceptance", "retained"]


async def test_consent_expired_cancels_the_proposal(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, consent="expired")
    answer = await _propose(provider, cpf)
    key = answer.proposal_key
    _wait_proposal(sandbox, key, "credit_transfer.proposal", _status_is("canceled"))
    consents = [
        parse_port_refin_webhook(r.payload)
        for r in _for_proposal(sandbox, key, "credit_transfer.portability_authorization")
    ]
    assert [c.portability_authorization_status for c in consents if isinstance(c, PortabilityAuthorizationWebhook)] == [
        "awaiting_confirmation",
        "expired",
    ]
    assert _proposal_statuses(sandbox, key) == ["pending_acceptance", "canceled"]
    assert await _ended_legs(sandbox, answer) == {"portability": "canceled", "refinancing": "canceled"}


async def test_a_proposal_is_canceled_before_the_payoff_and_not_after(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    early = await _propose(provider, cpf)
    await provider.cancel_proposal(early.proposal_key)
    _wait_proposal(sandbox, early.proposal_key, "credit_transfer.proposal", _status_is("canceled"))
    assert await _ended_legs(sandbox, early) == {"portability": "canceled", "refinancing": "canceled"}

    await _consulted(provider, cpf)
    late = await _propose(provider, cpf, troco_installment=None)
    await _sign(provider, late)
    _wait_proposal(sandbox, late.proposal_key, "credit_transfer.proposal", _status_is("paid"))
    with pytest.raises(ProviderBusinessError) as refused:
        await provider.cancel_proposal(late.proposal_key)
    assert refused.value.status == 400


# ------------------------------------------------------------------ averbação


async def test_averbacao_retries_every_port_refin_error_then_succeeds(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    # Seed 002 §14: AN and IR are teimosinha in Port+Refin (new credit cancels them, seeds 001/004).
    cpf = make_cpf(1)
    _scenario(
        sandbox,
        cpf,
        portability_averbacao=["benefit_blocked_by_tbm", "invalid_disbursement_account", "success"],
        refinancing_averbacao=["operation_not_allowed_IR", "success"],
    )
    await _consulted(provider, cpf)
    answer = await _propose(provider, cpf)
    await _sign(provider, answer)
    key = answer.proposal_key
    attempts = _wait_proposal(sandbox, key, "credit_transfer.proposal.collateral", count=3)
    parsed = [parse_port_refin_webhook(r.payload) for r in attempts]
    collaterals = [w for w in parsed if isinstance(w, PortabilityProposalCollateralWebhook)]
    assert [(w.data.collateral_constituted, w.data.error_enumerators) for w in collaterals] == [
        (False, ["benefit_blocked_by_tbm"]),
        (False, ["invalid_disbursement_account"]),
        (True, []),
    ]
    assert all(w.data.status == "pending_reservation" for w in collaterals[:2])
    assert answer.refinancing_credit_operation
    refin_key = answer.refinancing_credit_operation.credit_operation_key
    refin = [parse_port_refin_webhook(r.payload) for r in sandbox.receiver.wait_for(refin_key, count=2, timeout=20)]
    assert [
        (w.data.collateral_constituted, w.data.error_enumerators) for w in refin if isinstance(w, CollateralWebhook)
    ] == [(False, ["operation_not_allowed_IR"]), (True, [])]
    _wait_proposal(
        sandbox,
        key,
        "credit_transfer.proposal.credit_operation",
        lambda w: w["data"]["credit_operation_status"] == "disbursed",
    )


async def test_without_a_balance_consultation_the_averbacao_waits_for_one(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    answer = await _propose(provider, cpf, troco_installment=None)
    await _sign(provider, answer)
    assert answer.portability_credit_operation
    leg_key = answer.portability_credit_operation.credit_operation_key
    [pending] = sandbox.receiver.wait_for(leg_key, timeout=20)
    webhook = parse_port_refin_webhook(pending.payload)
    assert isinstance(webhook, PendingRequesterActionWebhook)
    assert webhook.data.enumerator == "success_balance_request_not_found"
    assert _for_proposal(sandbox, answer.proposal_key, "credit_transfer.proposal.collateral") == []

    await _consulted(provider, cpf)
    _wait_proposal(
        sandbox,
        answer.proposal_key,
        "credit_transfer.proposal.collateral",
        lambda w: w["data"]["collateral_constituted"],
    )


async def test_margin_released_lower_than_expected_needs_an_installment_reduction(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    # The origin bank releases 100.00 where the new installment is 120.00, nothing else is free:
    # Dataprev answers HW until the installment is lowered (seed 002 §13) and the new CCB signed.
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, released_installment="100.00", free_margin="0")
    await _consulted(provider, cpf)
    answer = await _propose(provider, cpf, troco_installment=None)
    await _sign(provider, answer)
    key = answer.proposal_key
    failed = _wait_proposal(sandbox, key, "credit_transfer.proposal.collateral", count=2)
    assert {tuple(parse_port_refin_webhook(r.payload).data.error_enumerators) for r in failed} == {  # type: ignore[union-attr]
        ("consignable_margin_excceded",)
    }

    # What the origin bank released, as Dataprev reports it (seed 002 §12).
    number = (await provider.proposal(key)).portability_number
    assert number and answer.portability_credit_operation
    leg_key = answer.portability_credit_operation.credit_operation_key
    created = await provider.query_origin_contract(
        leg_key, OriginContractQuery(portability_number=number), idempotency_key=str(uuid.uuid4())
    )
    assert created.status == "pending_search"
    [arrived] = sandbox.receiver.wait_for(created.origin_contract_request_key)
    origin = parse_port_refin_webhook(arrived.payload)
    assert isinstance(origin, PortabilityOriginContractWebhook) and origin.status == "success"
    assert isinstance(origin.data, OriginContractResult)
    assert origin.data.portability_number == number  # sent as a JSON number, read as the exact text
    assert origin.data.benefit_number == BENEFIT
    [deleted] = origin.data.deleted_contracts
    assert deleted.period_amount == Decimal("100.00") and origin.data.released_installments == Decimal("100.00")
    assert deleted.contract_number == "635967828"
    assert deleted.origin_bank and deleted.origin_bank.bank_code == "237"
    assert deleted.exclusion_date == today()

    old_url = answer.portability_credit_operation.document_url
    reduced = await provider.reduce_portability_installment(
        key, InstallmentReduction(installment_face_value=Decimal("100.00"))
    )
    assert reduced.credit_operation_key == leg_key
    assert reduced.credit_operation_status == "waiting_signature"
    assert reduced.installment_value == Decimal("100.00")
    assert reduced.document_url and reduced.document_url != old_url
    # The superseded CCB signs nothing; the new one resumes the averbação.
    assert old_url
    with pytest.raises(ProviderBusinessError):
        await provider.sign_leg(key, PORTABILITY, leg_signature(old_url))
    await provider.sign_leg(key, PORTABILITY, leg_signature(reduced.document_url))
    [reserved] = _wait_proposal(
        sandbox, key, "credit_transfer.proposal.collateral", lambda w: w["data"]["collateral_constituted"]
    )
    assert reserved.authentic
    view = await provider.leg_collateral(key, PORTABILITY)
    assert view.collateral_constituted is True
    # Lowering it again once reserved is refused.
    with pytest.raises(ProviderBusinessError):
        await provider.reduce_portability_installment(
            key, InstallmentReduction(installment_face_value=Decimal("90.00"))
        )


async def test_origin_contract_query_failures(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    answer = await _propose(provider, cpf, troco_installment=None)
    assert answer.portability_credit_operation
    leg_key = answer.portability_credit_operation.credit_operation_key
    # A portability number that is not this proposal's: found with another destination bank (PK).
    foreign = OriginContractQuery(portability_number=f"{today():%Y%m%d}9999999999999")
    created = await provider.query_origin_contract(leg_key, foreign, idempotency_key=str(uuid.uuid4()))
    [arrived] = sandbox.receiver.wait_for(created.origin_contract_request_key)
    webhook = parse_port_refin_webhook(arrived.payload)
    assert isinstance(webhook, PortabilityOriginContractWebhook) and webhook.status == "failure"
    assert isinstance(webhook.data, OriginContractFailure)
    assert webhook.data.enumerator == "wrong_bank_code_destination"

    # Seed 002 §12's failure, forced by the scenario.
    _scenario(sandbox, cpf, origin_contract_failure="invalid_bank_code")
    created = await provider.query_origin_contract(leg_key, foreign, idempotency_key=str(uuid.uuid4()))
    [arrived] = sandbox.receiver.wait_for(created.origin_contract_request_key)
    webhook = parse_port_refin_webhook(arrived.payload)
    assert isinstance(webhook, PortabilityOriginContractWebhook) and isinstance(webhook.data, OriginContractFailure)
    assert (webhook.data.enumerator, webhook.data.description) == ("invalid_bank_code", "Invalid bank code")

    with pytest.raises(ProviderBusinessError) as unknown:
        await provider.query_origin_contract(str(uuid.uuid4()), foreign, idempotency_key=str(uuid.uuid4()))
    assert unknown.value.status == 404
