"""Portability + refinancing (Port+Refin, seed 002) over real HTTP on the whole stack (dev server,
worker, gateway, relay, sandbox): each scenario the sandbox plays by CPF taken to its documented end."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from devtools.devstack.samples import (
    Sample,
    SampleRun,
    portability_with_troco,
    portability_without_troco,
    sample_cpf,
    sample_request,
    signature_now,
    with_legal_representative,
)
from devtools.devstack.stack import LocalStack
from domain.loan import CancelRequest, InstallmentReduction, LoanRequest
from starter.api import LoanService
from starter.client import LoanActionRefused
from tests.workflows.loan.conftest import record_history
from workflows.loan.rules import LoanPolicy
from workflows.loan.state import LoanState, Stage, Status

pytestmark = pytest.mark.integration


@pytest.fixture
def service(stack: LocalStack, temporal_client: Client) -> LoanService:
    return LoanService(temporal_client, stack.config.task_queue)


def _request(tmp_path: Path, *, troco: bool = True) -> LoanRequest:
    sample = Sample("portability", 1, "", request=portability_with_troco if troco else portability_without_troco)
    return sample_request(
        sample, cpf=sample_cpf(1, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    )


async def _scenarios(stack: LocalStack, cpf: str, *, portability: dict[str, Any], main: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as http:
        if main:
            (await http.put(f"/_sandbox/scenarios/{cpf}", json=main)).raise_for_status()
        (await http.put(f"/_sandbox/portability/scenarios/{cpf}", json=portability)).raise_for_status()


async def _start(
    stack: LocalStack,
    service: LoanService,
    tmp_path: Path,
    scenario: dict[str, Any],
    *,
    troco: bool = True,
    main: dict[str, Any] | None = None,
) -> LoanRequest:
    """A portability sample at the sandbox with this Port+Refin scenario (and ``main``: the CPF's
    other behaviour, e.g. its free margin or faults)."""
    request = _request(tmp_path, troco=troco)
    await _scenarios(stack, request.borrower.cpf, portability=scenario, main=main or {})
    await service.start(request)
    return request


async def _proposal(stack: LocalStack, proposal_key: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as http:
        found = await http.get(f"/_sandbox/portability/proposals/{proposal_key}")
        found.raise_for_status()
        answer: dict[str, Any] = found.json()
        return answer


async def _sign_when_asked(service: LoanService, request: LoanRequest) -> LoanState:
    state = await service.wait_until(
        request.request_key, lambda s: s.closed or s.stage == Stage.AWAITING_SIGNATURE, seconds=90
    )
    if not state.closed:
        await service.submit_signature(request.request_key, signature_now())
    return state


async def test_accepted_with_troco_ports_the_loan_and_pays_the_troco(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = await _start(stack, service, tmp_path, {})
    waiting = await _sign_when_asked(service, request)
    assert waiting.portability is not None
    assert waiting.portability.consent_status == "confirmed"
    assert waiting.portability.proposal_status == "accepted"
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "ported; troco disbursed")
    # The provider's installment and troco are the local engine's, to the cent.
    assert state.pricing_check is not None and state.pricing_check.matches, state.pricing_check
    facts = state.portability
    assert facts is not None and facts.portability_reserved and facts.troco_disbursed and facts.paid
    at_sandbox = await _proposal(stack, facts.proposal_key)
    assert at_sandbox["proposal_status"] == "paid"
    assert at_sandbox["legs"]["portability_credit_operation"]["collateral_constituted"] is True
    assert at_sandbox["legs"]["refinancing_credit_operation"]["status"] == "disbursed"
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_rejected_by_the_ctc_ends_with_its_reason(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = await _start(stack, service, tmp_path, {"ctc_rejection": "ECTC0023"})
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.REJECTED
    assert state.outcome_reason is not None and "ECTC0023" in state.outcome_reason
    assert state.signature_submitted_at is None  # nothing to sign: it ended before the consent
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_retained_by_the_origin_bank_ends_naming_the_reason(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = await _start(stack, service, tmp_path, {"retention": "issuer_retention"})
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.CANCELED
    assert state.outcome_reason == "retained by the origin bank: issuer_retention"
    assert state.portability is not None and state.portability.retention == "issuer_retention"
    await record_history(service.handle(request.request_key), suffix="dev_server")


@pytest.mark.parametrize("consent", ["expired", "denied"])
async def test_consent_not_given_cancels_the_proposal(
    stack: LocalStack, service: LoanService, tmp_path: Path, consent: str
) -> None:
    request = await _start(stack, service, tmp_path, {"consent": consent})
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.CANCELED
    assert state.outcome_reason is not None and state.outcome_reason.startswith(f"consent_{consent}")
    assert state.portability is not None and state.portability.consent_deadline is not None
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_a_consent_pending_inclusion_keeps_the_portability_waiting(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/webhook-autorizacao-de-portabilidade:
    # pending_inclusion while QI registers the authorization at Dataprev, its deadline only from
    # awaiting_confirmation on. The sandbox holds it there 4 s (scenario pending_inclusion_seconds).
    request = await _start(stack, service, tmp_path, {"pending_inclusion_seconds": 4})

    def including(s: LoanState) -> bool:
        return s.closed or (s.portability is not None and s.portability.consent_status == "pending_inclusion")

    waiting = await service.wait_until(request.request_key, including, seconds=60)
    assert not waiting.closed and waiting.stage == Stage.CONSENT, waiting.outcome_reason
    assert waiting.portability is not None and waiting.portability.consent_deadline is None
    await asyncio.sleep(1.5)
    still = await service.state(request.request_key)
    assert not still.closed and still.stage == Stage.CONSENT  # no answer yet: it keeps waiting
    assert still.unknown_values == []  # a published status, not an unknown one
    await _sign_when_asked(service, request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "ported; troco disbursed")
    consents = [e.status for e in state.events if e.webhook_type == "credit_transfer.portability_authorization"]
    assert consents == ["pending_inclusion", "awaiting_confirmation", "confirmed"]
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_a_portability_the_eligibility_rules_refuse_is_never_proposed(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    # A suspended benefit and no identity documents (IN 138, seed 004 §5): both named, nothing proposed.
    request = _request(tmp_path).model_copy(update={"documents": None})
    await _scenarios(stack, request.borrower.cpf, portability={}, main={"benefit_situation": "suspended"})
    await service.start(request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert (state.status, state.outcome_reason) == (Status.REJECTED, "ineligible: benefit_active, identity_documents")
    assert [r.rule for r in state.rejection] == ["benefit_active", "identity_documents"]
    assert state.portability is None  # no proposal at the provider
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_the_identity_documents_go_with_whoever_signs_the_proposal(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/formalizacao: the documents'
    # keys in the proposal's borrower, or in the legal representative's related party.
    own = await _start(stack, service, tmp_path, {"ctc_rejection": "ECTC0023"})
    represented = _request(tmp_path / "represented")
    body = represented.model_dump(mode="json")
    with_legal_representative(body, SampleRun(cpf=represented.borrower.cpf, folder=tmp_path))
    represented = LoanRequest.model_validate(body)
    await _scenarios(stack, represented.borrower.cpf, portability={"ctc_rejection": "ECTC0023"}, main={})
    await service.start(represented)
    for request, holder in ((own, "borrower"), (represented, "legal_representative")):
        state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
        assert state.portability is not None, state.outcome_reason
        assert (await _proposal(stack, state.portability.proposal_key))["documents_attached_to"] == holder


async def test_averbacao_teimosinha_then_success(stack: LocalStack, service: LoanService, tmp_path: Path) -> None:
    # AN and IR are teimosinha in Port+Refin (seed 002 §14): the provider tries again by itself.
    script = {"portability_averbacao": ["invalid_disbursement_account", "operation_not_allowed_IR", "success"]}
    request = await _start(stack, service, tmp_path, script)
    await _sign_when_asked(service, request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "ported; troco disbursed")
    assert state.portability is not None
    at_sandbox = await _proposal(stack, state.portability.proposal_key)
    assert at_sandbox["legs"]["portability_credit_operation"]["averbacao_attempts"] == 3
    answers = [e.detail for e in state.events if e.effect == "portability leg: averbação answer"]
    assert answers == ["invalid_disbursement_account", "operation_not_allowed_IR"]
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_less_margin_released_lowers_the_installment_by_itself_within_the_rules(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    # The origin bank releases R$ 150.00 and R$ 10.00 more are free: HW until the installment is 160.00.
    released, free = {"released_installment": "150.00"}, {"loans_margin": "10.00"}
    request = await _start(stack, service, tmp_path, released, troco=False, main=free)
    first = await _sign_when_asked(service, request)
    assert first.portability is not None and first.portability.installment is not None
    assert first.portability.installment > Decimal("160.00")  # the sample's terms need more than that
    again = await service.wait_until(
        request.request_key,
        lambda s: (
            s.closed
            or (s.stage == Stage.AWAITING_SIGNATURE and s.portability is not None and s.portability.reductions == 1)
        ),
        seconds=90,
    )
    assert again.portability is not None and again.portability.installment == Decimal("160.00")
    assert [a.kind for a in again.operator_actions][-1] == "reduce_installment"
    assert again.portability.released_installment == Decimal("150.00")  # from the origin-contract query
    await service.submit_signature(request.request_key, signature_now())  # the new CCB
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "ported")
    at_sandbox = await _proposal(stack, state.portability.proposal_key if state.portability else "")
    assert Decimal(at_sandbox["legs"]["portability_credit_operation"]["installment"]) == Decimal("160.00")
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_a_reduction_beyond_the_rules_waits_for_the_operator(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    # R$ 100.00 released + R$ 10.00 free: more than 30 % below the installment — the operator decides.
    released, free = {"released_installment": "100.00"}, {"loans_margin": "10.00"}
    request = await _start(stack, service, tmp_path, released, troco=False, main=free)
    await _sign_when_asked(service, request)
    waiting = await service.wait_until(
        request.request_key, lambda s: s.closed or s.stage == Stage.AWAITING_INSTALLMENT_REDUCTION, seconds=90
    )
    assert waiting.portability is not None and waiting.portability.reduction_offer == Decimal("110.00")
    with pytest.raises(LoanActionRefused, match="installment_value"):
        await service.reduce_installment(request.request_key, InstallmentReduction(installment_value=Decimal("9999")))
    await service.reduce_installment(
        request.request_key, InstallmentReduction(installment_value=Decimal("110.00"), note="agreed with the borrower")
    )
    await _sign_when_asked(service, request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert state.status == Status.COMPLETED
    assert state.portability is not None and state.portability.installment == Decimal("110.00")
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_an_offer_above_the_rate_cap_is_refused_before_any_proposal(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = _request(tmp_path)
    terms = request.financial.model_copy(update={"monthly_interest_rate": Decimal("0.0199")})  # cap: 1.85 %
    await service.start(request.model_copy(update={"financial": terms}))
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.REJECTED
    assert state.outcome_reason is not None
    assert state.outcome_reason.startswith("pricing: portability_credit_operation.financial.monthly_interest_rate")
    assert state.portability is None  # nothing was proposed


async def test_webhooks_lost_after_the_signature_are_found_by_reading_the_proposal_back(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = _request(tmp_path)
    await service.start(request, policy=LoanPolicy(provider_silence=timedelta(seconds=2)))
    waiting = await _sign_when_asked(service, request)
    assert not waiting.closed
    # From now on every webhook of this CPF fails its first 100 deliveries (30 s at the sandbox's
    # pace): the payoff, both averbações and the troco reach the loan only by its own lookups.
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as http:
        faults = {"faults": {"webhook_delivery_failures": 100}}
        (await http.put(f"/_sandbox/scenarios/{request.borrower.cpf}", json=faults)).raise_for_status()
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=25)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "ported; troco disbursed")
    found = [e.effect for e in state.events if e.event_id.startswith("lookup:")]
    assert "proposal paid" in found and "portability leg reserved at Dataprev" in found, found
    assert "refinancing leg disbursed" in found, found
    assert state.lookups >= 1
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as http:
        (await http.delete(f"/_sandbox/scenarios/{request.borrower.cpf}")).raise_for_status()
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_an_operator_cancel_before_the_payoff_cancels_the_proposal_at_the_provider(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = await _start(stack, service, tmp_path, {})
    waiting = await service.wait_until(
        request.request_key, lambda s: s.closed or s.stage == Stage.AWAITING_SIGNATURE, seconds=90
    )  # not signed: the payoff waits for the borrower's signature
    assert waiting.portability is not None and not waiting.closed
    state = await service.cancel(request.request_key, CancelRequest(reason="borrower gave up", operator="ops-1"))
    assert state.status == Status.CANCELED_PERMANENTLY
    at_sandbox = await _proposal(stack, waiting.portability.proposal_key)
    assert at_sandbox["proposal_status"] == "canceled"
    assert {leg["status"] for leg in at_sandbox["legs"].values()} == {"canceled"}
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_early_duplicated_and_reordered_webhooks_are_applied_once(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = _request(tmp_path)
    # Every webhook twice, each burst newest first, and the first delivery attempts failing.
    faults = {"duplicate_webhooks": True, "out_of_order_webhooks": True, "webhook_delivery_failures": 1}
    await _scenarios(stack, request.borrower.cpf, portability={}, main={"faults": faults})
    await service.start(request)
    await _sign_when_asked(service, request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "ported; troco disbursed")
    applied = [e.effect for e in state.events if not e.effect.startswith("ignored")]
    for effect in ("proposal accepted", "proposal paid", "consent confirmed", "refinancing leg disbursed"):
        assert applied.count(effect) == 1, (effect, applied)


async def test_an_origin_bank_outside_the_ctc_participants_is_refused_naming_the_field(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = _request(tmp_path)
    assert request.portability is not None
    terms = request.portability.model_copy(update={"origin_bank_ispb": "12345678"})
    await service.start(request.model_copy(update={"portability": terms}))
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.REJECTED
    # Ours (from the cached list), not the provider's CT000020: nothing was proposed.
    assert (
        state.outcome_reason is not None
        and "origin_bank_ispb 12345678 is not a CTC participant" in state.outcome_reason
    )
    assert "CT000020" not in state.outcome_reason and state.portability is None
    await record_history(service.handle(request.request_key), suffix="dev_server")
