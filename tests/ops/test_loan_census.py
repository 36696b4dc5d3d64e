"""The loans-per-stage gauge moves while a loan waits: the census sees a loan waiting for its
signature the moment it waits (not when it leaves), counts it past the stage's SLA once the SLA
has passed (the census's clock moved), and lets it go when it leaves the stage."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack
from ops.loan_census import IN_STAGE, OLDEST, PAST_SLA, RUNNING_LOANS, LoanCensus
from starter.api import LoanService
from tests.support.temporal import eventually
from workflows.loan.state import Stage

pytestmark = pytest.mark.integration


def _gauges(buffer: MetricBuffer) -> dict[tuple[str, str], Any]:
    """The last value each gauge was set to, by (metric, stage)."""
    last: dict[tuple[str, str], Any] = {}
    for update in buffer.retrieve_updates():
        last[(update.metric.name, str(update.attributes.get("stage")))] = update.value
    return last


async def test_the_stage_gauge_moves_while_a_loan_waits(
    stack: LocalStack, temporal_client: Client, tmp_path: Path
) -> None:
    service = LoanService(temporal_client, stack.config.task_queue)
    request = sample_request(
        COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    )
    await service.start(request)
    waiting = await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=90)
    assert waiting.stage_since is not None

    buffer = MetricBuffer(1000)
    meter = Runtime(telemetry=TelemetryConfig(metrics=buffer)).metric_meter
    clock = {"now": datetime.now(UTC)}
    census = LoanCensus(
        temporal_client,
        meter,
        now=lambda: clock["now"],
        query=f"{RUNNING_LOANS} AND WorkflowId = 'loan-{request.request_key}'",
    )

    async def counted() -> Any:
        figures = await census.take()
        return figures if figures["awaiting_signature"][0] == 1 else None

    figures = await eventually(counted, seconds=30, what="the census to see the loan waiting")  # visibility lags
    assert figures["awaiting_signature"][:2] == (1, 0)  # waiting, within the 3 days it may
    assert figures["consultation"] == (0, 0, 0.0)
    gauges = _gauges(buffer)
    assert gauges[(IN_STAGE, "awaiting_signature")] == 1 and gauges[(PAST_SLA, "awaiting_signature")] == 0

    clock["now"] = waiting.stage_since + timedelta(days=3, hours=1)  # still waiting, an hour past its SLA
    count, late, oldest = (await census.take())["awaiting_signature"]
    assert (count, late) == (1, 1)
    assert oldest == pytest.approx(timedelta(days=3, hours=1).total_seconds(), abs=120)
    gauges = _gauges(buffer)
    assert gauges[(PAST_SLA, "awaiting_signature")] == 1
    assert gauges[(OLDEST, "awaiting_signature")] == pytest.approx(oldest)

    await service.submit_signature(request.request_key, signature_now())
    await service.wait_until(request.request_key, lambda s: s.stage != Stage.AWAITING_SIGNATURE, seconds=60)

    async def left() -> Any:
        figures = await census.take()
        return figures if figures["awaiting_signature"][0] == 0 else None

    figures = await eventually(left, seconds=30, what="the census to see the loan leave the stage")
    assert figures["awaiting_signature"] == (0, 0, 0.0)
    assert _gauges(buffer)[(IN_STAGE, "awaiting_signature")] == 0
