"""The worker's admission of a loan its caller did not route (a CLI, Go or TypeScript start): for a
second-provider-only lender it routes to that provider and pins the "Sem IN100" flow, which needs
the request's assistance type and account."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.admission import Admissions
from domain.loan import ProviderId
from tests.support.loans import loan_request
from workflows.loan.activity_models import AdmissionInput
from workflows.loan.routing import ProviderRouting

SECOND_ONLY = ProviderRouting(default=ProviderId.PROVIDER_B, providers=frozenset({ProviderId.PROVIDER_B}))


async def test_a_second_provider_only_lender_admits_without_consultation() -> None:
    request = loan_request(benefit={"number": "2052711150", "state": "SP", "assistance_type": "retirement_by_age"})
    admitted = await ActivityEnvironment().run(
        Admissions(SECOND_ONLY, None).admit_loan, AdmissionInput(request=request, route=True, hash_cpf=False)
    )
    assert (admitted.provider, admitted.in100, admitted.refusal) == (ProviderId.PROVIDER_B, False, None)


async def test_without_the_assistance_type_it_is_refused_naming_the_field() -> None:
    admitted = await ActivityEnvironment().run(
        Admissions(SECOND_ONLY, None).admit_loan, AdmissionInput(request=loan_request(), route=True, hash_cpf=False)
    )
    assert admitted.refusal is not None and "benefit.assistance_type" in admitted.refusal


async def test_with_both_providers_a_routed_loan_consults() -> None:
    request = loan_request(provider=None)
    admitted = await ActivityEnvironment().run(
        Admissions(ProviderRouting(default=ProviderId.PROVIDER_B), None).admit_loan,
        AdmissionInput(request=request, route=True, hash_cpf=False),
    )
    assert (admitted.provider, admitted.in100) == (ProviderId.PROVIDER_B, True)
