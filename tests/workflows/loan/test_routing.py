"""Which provider issues a loan (pure): the request's choice, the lender's rules by product, providers
marked unavailable and their fallback, and what a provider cannot take — named by the request's field."""

from __future__ import annotations

import pytest

from domain.loan import Product, ProviderId
from tests.support.loans import loan_request
from workflows.loan.routing import NoProvider, ProviderRouting, choose_provider, consults

A, B = ProviderId.QITECH, ProviderId.PROVIDER_B
REFINANCED = [{"operation_key": "8b0c7a57-8c3e-4f0e-9d7b-1c2f3a4b5c6d", "installment_value": "100.00"}]


def test_by_default_the_first_provider_issues() -> None:
    assert choose_provider(loan_request(), ProviderRouting()) == A


def test_the_request_names_its_provider() -> None:
    assert choose_provider(loan_request(provider="provider_b"), ProviderRouting()) == B


def test_the_lenders_rules_route_by_product() -> None:
    routing = ProviderRouting(by_product={Product.NEW_CREDIT: B})
    assert choose_provider(loan_request(), routing) == B


def test_a_provider_marked_unavailable_falls_back_before_anything_exists() -> None:
    routing = ProviderRouting(default=B, unavailable=frozenset({B}))
    assert choose_provider(loan_request(), routing) == A
    assert choose_provider(loan_request(provider="provider_b"), routing) == A


def test_no_available_provider_is_refused_naming_the_field() -> None:
    routing = ProviderRouting(unavailable=frozenset({A, B}))
    with pytest.raises(NoProvider, match="provider: qitech is marked unavailable"):
        choose_provider(loan_request(), routing)


def test_a_loan_the_routed_provider_cannot_take_goes_to_one_that_can() -> None:
    # Seed 003 prints a new-credit operation only: a refinancing routed there goes to the first provider.
    routing = ProviderRouting(default=B)
    refinancing = loan_request(
        product="refinancing",
        refinanced_operations=[
            {"operation_key": "8b0c7a57-8c3e-4f0e-9d7b-1c2f3a4b5c6d", "installment_value": "100.00"}
        ],
    )
    assert choose_provider(refinancing, routing) == A


def test_a_loan_that_names_a_provider_that_cannot_take_it_is_refused() -> None:
    refinancing = loan_request(
        provider="provider_b",
        product="refinancing",
        refinanced_operations=[
            {"operation_key": "8b0c7a57-8c3e-4f0e-9d7b-1c2f3a4b5c6d", "installment_value": "100.00"}
        ],
    )
    with pytest.raises(NoProvider, match="product: provider_b does not issue refinancing"):
        choose_provider(refinancing, ProviderRouting())


SECOND_ONLY = ProviderRouting(default=B, providers=frozenset({B}))


def test_a_second_provider_only_lender_routes_there_and_has_no_consultation() -> None:
    assert choose_provider(loan_request(), SECOND_ONLY) == B
    assert not consults(B, SECOND_ONLY)  # seed 003's "Sem IN100": no consulting provider
    # The default left at the first provider still routes to the one the lender has.
    assert choose_provider(loan_request(), ProviderRouting(providers=frozenset({B}))) == B


def test_with_both_providers_the_second_consults_through_the_first() -> None:
    assert consults(B, ProviderRouting()) and consults(A, ProviderRouting())
    # An incident at the first provider does not change the flow of new loans: they wait for it.
    assert consults(B, ProviderRouting(unavailable=frozenset({A})))


def test_a_second_provider_only_lender_cannot_take_what_only_the_first_issues() -> None:
    refinancing = loan_request(product="refinancing", refinanced_operations=REFINANCED)
    with pytest.raises(NoProvider, match="product: provider_b does not issue refinancing"):
        choose_provider(refinancing, SECOND_ONLY)
    with pytest.raises(NoProvider, match="no contract with qitech"):
        choose_provider(loan_request(provider="qitech"), SECOND_ONLY)
