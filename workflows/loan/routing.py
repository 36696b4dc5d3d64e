"""Which provider issues a loan: the request's choice, else the lender's routing rules (by product,
a default), never a provider marked unavailable or one that cannot take the loan. Pure; the starter
decides when the loan starts and pins the choice in its input."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.loan import LoanRequest, Product, ProviderId
from workflows.loan.port import CAPABILITIES, CONSULTING_PROVIDER


class ProviderRouting(BaseModel):
    """The lender's routing rules (``ROUTING_*`` settings of the starter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: ProviderId = ProviderId.QITECH
    by_product: dict[Product, ProviderId] = Field(default_factory=dict)
    providers: frozenset[ProviderId] = frozenset(ProviderId)
    """The providers this lender has a contract with (and its workers speak to): a loan never goes
    to another, and its IN100 consultation runs through one of these or not at all."""
    unavailable: frozenset[ProviderId] = frozenset()
    """Marked unavailable by an operator (an incident): new loans go elsewhere."""
    fallback: dict[ProviderId, ProviderId] = Field(default_factory=lambda: {ProviderId.PROVIDER_B: ProviderId.QITECH})
    """Where a loan goes when its provider is unavailable — before issuance only, never after a
    debt exists at the first."""


class NoProvider(ValueError):
    """No provider can take this loan; the message names the field and why."""


def cannot_take(provider: ProviderId, request: LoanRequest) -> list[str]:
    """Why ``provider`` cannot issue this loan (empty: it can), each naming the request's field."""
    able = CAPABILITIES[provider]
    reasons = []
    if request.product not in able.products:
        reasons.append(f"product: {provider.value} does not issue {request.product.value}")
    if request.legal_representative is not None and not able.legal_representative:
        reasons.append(f"legal_representative: {provider.value} takes no legal representative")
    if len(request.disbursement_accounts) > 1 and not able.split_accounts:
        reasons.append(f"disbursement_accounts: {provider.value} pays into one account")
    return reasons


def choose_provider(request: LoanRequest, routing: ProviderRouting) -> ProviderId:
    """The provider for a new loan, or :class:`NoProvider` naming why none can take it."""
    if request.provider is not None:
        wanted, named = request.provider, True
    else:
        wanted, named = routing.by_product.get(request.product, routing.default), False
    if wanted not in routing.providers:
        if named:
            raise NoProvider(f"provider: this lender has no contract with {wanted.value}")
        wanted = next(iter(sorted(routing.providers)), wanted)
    off = routing.unavailable | (frozenset(ProviderId) - routing.providers)
    if wanted in off:
        fallback = routing.fallback.get(wanted)
        if fallback is None or fallback in off:
            raise NoProvider(f"provider: {wanted.value} is marked unavailable and has no available fallback")
        wanted = fallback
    reasons = cannot_take(wanted, request)
    if reasons and not named:
        # The rules chose a provider that cannot take this loan: the default one can, or nobody.
        fallback = routing.fallback.get(wanted, ProviderId.QITECH)
        if fallback not in off and not cannot_take(fallback, request):
            return fallback
    if reasons:
        raise NoProvider("; ".join(reasons))
    return wanted


def consults(provider: ProviderId, routing: ProviderRouting) -> bool:
    """Whether a loan at ``provider`` has its IN100 consultation (through the provider itself when it
    offers one, else ``CONSULTING_PROVIDER``), or goes the "Sem IN100" way (seed 003 observação 3):
    only a lender without a contract with a consulting provider does (one marked unavailable for an
    incident still consults: its loans wait for it, they do not change their flow)."""
    if CAPABILITIES[provider].consultation:
        return True
    return CONSULTING_PROVIDER in routing.providers
