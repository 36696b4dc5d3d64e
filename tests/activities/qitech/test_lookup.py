"""Reconciliation's lookups over real HTTP against the sandbox: what the provider's state says reads
as the webhook it sent (or would have sent)."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import ActivityEnvironment

from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.lookup import collateral_event, debt_event
from activities.qitech.mapping import LenderTerms
from activities.qitech.models.webhooks import CollateralWebhook, DebtWebhook, parse_webhook
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from tests.conftest import SandboxUnderTest
from tests.devtools.sandbox.test_scenarios import _scenario, _signed_debt
from tests.support.data import make_cpf
from tests.workflows.loan.test_activities_once import NoRoutes
from workflows.loan.activity_models import LookupInput, ProposalLookupInput

pytestmark = pytest.mark.integration


async def test_a_disbursed_debt_reads_as_its_disbursed_webhook(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf, requester_key = make_cpf(1), str(uuid.uuid4())
    key = await _signed_debt(provider, cpf, requester_key=requester_key)
    [sent] = sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed")
    operation = await provider.credit_operation(requester_key)
    assert operation is not None and operation.credit_operation_key == key
    found = debt_event(key, operation)
    assert found is not None
    identity, webhook = found
    real = parse_webhook(sent.payload)
    assert isinstance(webhook, DebtWebhook) and isinstance(real, DebtWebhook)
    assert (webhook.key, webhook.status) == (real.key, real.status)
    assert identity == f"lookup:{key}:debt:disbursed"


async def test_a_key_that_created_no_debt_is_none(provider: ProviderClient) -> None:
    assert await provider.credit_operation(str(uuid.uuid4())) is None


async def test_dataprevs_last_answer_reads_as_the_collateral_webhook(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, averbacao=["consignable_margin_excceded"])  # teimosinha: retried, unchanged
    key = await _signed_debt(provider, cpf)
    [sent, *_] = sandbox.receiver.wait_for(key, lambda w: w.get("webhook_type") == "credit_operation.collateral")
    found = collateral_event(key, await provider.get_collateral(key))
    assert found is not None
    _, webhook = found
    real = parse_webhook(sent.payload)
    assert isinstance(webhook, CollateralWebhook) and isinstance(real, CollateralWebhook)
    assert webhook.data.error_enumerators == real.data.error_enumerators == ["consignable_margin_excceded"]
    assert not webhook.data.collateral_constituted


async def test_a_debt_still_waiting_for_its_signature_says_nothing(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    from tests.support.builders import issuance_request

    requester_key = str(uuid.uuid4())
    answer = await provider.issue_debt(issuance_request(make_cpf(1), requester_key))
    operation = await provider.credit_operation(requester_key)
    assert operation is not None and operation.credit_operation_status_enumerator == "waiting_signature"
    assert debt_event(answer.key, operation) is None
    assert collateral_event(answer.key, await provider.get_collateral(answer.key)) is None


async def test_a_debt_or_proposal_the_provider_does_not_know_is_reported_not_found(provider: ProviderClient) -> None:
    # The loan holds keys the provider answers 404 for (its database lost them, or a double forgot):
    # the lookup says so, so the loan can tell an operator instead of waiting for its window's end.
    activities = LoanActivities(
        provider, NoRoutes(), LenderTerms(purchaser_cnpj="32402502000135"), INSS_DEFAULT_PRODUCT
    )
    unknown = str(uuid.uuid4())
    looked = await ActivityEnvironment().run(
        activities.look_up_provider_state,
        LookupInput(debt_key=unknown, requester_identifier_key=str(uuid.uuid4()), collateral=True),
    )
    assert (looked.events, looked.not_found) == ([], ["debt"])
    proposal = await ActivityEnvironment().run(activities.look_up_proposal, ProposalLookupInput(proposal_key=unknown))
    assert (proposal.events, proposal.not_found) == ([], ["proposal"])
