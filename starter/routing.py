"""The lender's provider routing, from the environment (prefix ``ROUTING_``), for the loans the
starter starts: ``ROUTING_DEFAULT`` (a provider id), ``ROUTING_BY_PRODUCT`` (JSON, product → provider),
``ROUTING_UNAVAILABLE`` (JSON list: providers an operator marked unavailable), ``ROUTING_PROVIDERS``
(JSON list: the providers the lender has; default both — a second-provider-only lender sets
``["provider_b"]`` and ``ROUTING_DEFAULT=provider_b``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.loan import Product, ProviderId
from workflows.loan.routing import ProviderRouting


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_")

    default: ProviderId = ProviderId.QITECH
    by_product: dict[Product, ProviderId] = {}
    unavailable: list[ProviderId] = []
    providers: list[ProviderId] = list(ProviderId)

    def routing(self) -> ProviderRouting:
        return ProviderRouting(
            default=self.default,
            by_product=self.by_product,
            providers=frozenset(self.providers),
            unavailable=frozenset(self.unavailable),
        )
