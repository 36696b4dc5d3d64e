"""The lender's provider routing, from the environment (prefix ``ROUTING_``), for the loans the
starter starts: ``ROUTING_DEFAULT`` (a provider id), ``ROUTING_BY_PRODUCT`` (JSON, product → provider),
``ROUTING_UNAVAILABLE`` (JSON list: providers an operator marked unavailable)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.loan import Product, ProviderId
from workflows.loan.routing import ProviderRouting


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_")

    default: ProviderId = ProviderId.QITECH
    by_product: dict[Product, ProviderId] = {}
    unavailable: list[ProviderId] = []

    def routing(self) -> ProviderRouting:
        return ProviderRouting(
            default=self.default, by_product=self.by_product, unavailable=frozenset(self.unavailable)
        )
