"""The borrower's signature of a Port+Refin's two CCBs, over real HTTP against the sandbox, when the
first attempt signed one leg and never reported it (its worker killed between the legs): the retry
signs the other leg and succeeds, instead of being refused for the leg already signed — the storm test
of issue 30 found a portability stuck in awaiting_signature that way."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.mapping import LenderTerms
from activities.qitech.portability_enumerators import CreditOperationLeg
from devtools.devstack.samples import signature_now
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from tests.devtools.sandbox.test_portability import _consulted, _propose
from tests.support.data import make_cpf
from tests.support.portability import leg_signature
from tests.workflows.loan.test_activities_once import NoRoutes
from workflows.loan.activity_models import SignLegsInput

pytestmark = pytest.mark.integration


def _activities(provider: ProviderClient) -> LoanActivities:
    return LoanActivities(provider, NoRoutes(), LenderTerms(purchaser_cnpj="32402502000135"), INSS_DEFAULT_PRODUCT)


def _attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


async def _one_leg_signed(provider: ProviderClient) -> SignLegsInput:
    """A proposal with both legs' CCBs, its portability leg signed already (by an earlier attempt)."""
    cpf = make_cpf(1)
    await _consulted(provider, cpf)
    proposal = await _propose(provider, cpf)
    links = {}
    for kind in CreditOperationLeg:
        leg = proposal.leg(kind)
        assert leg is not None and leg.document_url
        links[kind.value] = leg.document_url
    portability = CreditOperationLeg.PORTABILITY
    await provider.sign_leg(proposal.proposal_key, portability, leg_signature(links[portability.value]))
    return SignLegsInput(proposal_key=proposal.proposal_key, signing_links=links, submission=signature_now())


async def test_a_retry_signs_only_the_legs_still_waiting_for_a_signature(provider: ProviderClient) -> None:
    activities = _activities(provider)
    signing = await _one_leg_signed(provider)

    await _attempt(2).run(activities.sign_legs, signing)

    held = await provider.proposal(signing.proposal_key)
    for kind in CreditOperationLeg:
        leg = held.leg(kind)
        assert leg is not None and leg.credit_operation_status == "signed", kind
        assert leg.signed_url == signing.signing_links[kind.value]


async def test_a_first_attempt_does_not_guess_a_leg_signed_by_someone_else(provider: ProviderClient) -> None:
    # Only a retry may have signed before: on a first attempt the provider's refusal stands.
    activities = _activities(provider)
    signing = await _one_leg_signed(provider)
    with pytest.raises(ApplicationError, match="not waiting for a signature"):
        await _attempt(1).run(activities.sign_legs, signing)
