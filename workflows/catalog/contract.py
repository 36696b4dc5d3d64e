"""The provider-table refreshes' contract: names, ids, their one input."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from domain.loan import ProviderId
from workflows.loan.port import REFRESH_CTC_PARTICIPANTS, REFRESH_PRODUCTS

PRODUCT_TABLE_WORKFLOW = "ProductTableRefresh"
REFRESH_EVERY = timedelta(hours=1)

_SCHEDULE_PREFIX = {REFRESH_PRODUCTS: "product-table", REFRESH_CTC_PARTICIPANTS: "ctc-participants"}


def schedule_id(provider: ProviderId, refresh: str = REFRESH_PRODUCTS) -> str:
    return f"{_SCHEDULE_PREFIX[refresh]}-{provider.value}"


class RefreshInput(BaseModel):
    provider: ProviderId
    refresh: str = REFRESH_PRODUCTS
    """Which of the provider's tables: its activity ``<provider>.<refresh>`` fetches it into the store
    (the product table of a polled provider; the CTC participants of a portability provider)."""
