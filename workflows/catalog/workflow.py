"""ProductTableRefresh: one refresh of a provider's table (a product table, the CTC participants),
run hourly by its Schedule."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.catalog.contract import PRODUCT_TABLE_WORKFLOW, RefreshInput
    from workflows.loan.port import activity_name


@workflow.defn(name=PRODUCT_TABLE_WORKFLOW)
class ProductTableRefresh:
    @workflow.run
    async def run(self, refresh: RefreshInput) -> int:
        count: int = await workflow.execute_activity(
            activity_name(refresh.provider, refresh.refresh),
            start_to_close_timeout=timedelta(minutes=2),
            # The loans keep reading the last table meanwhile; the next scheduled run tries again.
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=5),
            result_type=int,
        )
        return count
