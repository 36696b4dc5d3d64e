"""The product-table refresh's contract: names, ids, its one input."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from domain.loan import ProviderId
from loan.port import REFRESH_PRODUCTS

PRODUCT_TABLE_WORKFLOW = "ProductTableRefresh"
REFRESH_EVERY = timedelta(hours=1)
REFRESH_ACTIVITY = REFRESH_PRODUCTS


def schedule_id(provider: ProviderId) -> str:
    return f"product-table-{provider.value}"


class RefreshInput(BaseModel):
    provider: ProviderId
