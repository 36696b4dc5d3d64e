"""How many loans wait in each stage *now*, and how many wait there past the stage's SLA.

The loans' own metrics (workflows.loan.metrics) record time in a stage when a loan leaves it, so a
loan stuck in a stage never shows there. The census asks Temporal's visibility for the running loans
and their ``LoanStage`` every ``WORKER_LOAN_CENSUS_SECONDS`` and sets three gauges on the worker's
Prometheus endpoint, per stage (zero for a stage nobody is in):

- ``consignado_loans_in_stage``: loans in the stage now (moves while a loan waits);
- ``consignado_loans_past_stage_sla``: those in it longer than ``STAGE_SLA`` says (the alert reads it);
- ``consignado_loan_stage_oldest_seconds``: how long the oldest has been there.

Since when a loan is in its stage comes from the loan's history the first time the census sees it (when
its run last set ``LoanStage`` to that stage), then from the census noticing the stage change. It reads
the history, never queries the loan: a query makes a worker rebuild the loan, and a just-restarted
worker's census would rebuild every running loan at once — exactly when they are not cached anywhere and
their next workflow task may be pending, the moment a query can leave a history that no longer replays
(the storm test of issue 30 caught one; README, after the run command). Every worker runs one (each exports the
same figures: dashboards and alerts take ``max by (stage)``). No PII: stage labels only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.converter import decode_typed_search_attributes

from workflows.loan.contract import LOAN_WORKFLOW
from workflows.loan.state import Stage
from workflows.loan.visibility import LOAN_STAGE

log = logging.getLogger("loan-census")

IN_STAGE = "consignado_loans_in_stage"
PAST_SLA = "consignado_loans_past_stage_sla"
OLDEST = "consignado_loan_stage_oldest_seconds"

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

STAGE_SLA: dict[Stage, timedelta] = {
    Stage.CONSULTATION: HOUR,  # the IN100 answers in minutes; the loan itself gives up at its consultation timeout
    Stage.SIMULATION: HOUR,
    Stage.ELIGIBILITY: HOUR,
    Stage.ISSUANCE: HOUR,
    Stage.DOCUMENTS: HOUR,
    Stage.AWAITING_DOCUMENTS: 2 * DAY,
    Stage.AWAITING_SIGNATURE: 3 * DAY,
    Stage.SIGNATURE_VALIDATION: DAY,
    Stage.MARGIN_RELEASE: 92 * DAY,  # the 90-day DDB rule holds a loan here by design (DDB + 91)
    Stage.AVERBACAO: 2 * DAY,  # teimosinha retries within the disbursement window
    Stage.AWAITING_BENEFICIARY_CONFIRMATION: 3 * DAY,
    Stage.AWAITING_COLLATERAL_CORRECTION: DAY,
    Stage.AWAITING_INSTALLMENT_REDUCTION: DAY,
    Stage.BALANCE_RECHECK: HOUR,
    Stage.DISBURSEMENT: DAY,
    Stage.AWAITING_REAPRESENTACAO: DAY,
    Stage.PROPOSAL: HOUR,
    Stage.CTC_ANSWER: DAY,
    Stage.CONSENT: 6 * DAY,  # the consent's own deadline is registration + 5 days
    Stage.ORIGIN_BANK: 3 * DAY,
    Stage.PAYOFF: 2 * DAY,
    Stage.TROCO: 5 * DAY,
}
"""How long a loan may wait in each stage before someone should look (an assumption: the seeds set
no SLA; README's assumptions table). A stage missing here has no SLA."""

RUNNING_LOANS = f"WorkflowType = '{LOAN_WORKFLOW}' AND ExecutionStatus = 'Running'"
HISTORY_READ_TIMEOUT = 10.0


@dataclass
class _Seen:
    stage: str
    since: datetime


@dataclass
class LoanCensus:
    client: Client
    meter: MetricMeter
    sla: dict[Stage, timedelta] = field(default_factory=lambda: dict(STAGE_SLA))
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    parallel_reads: int = 8
    query: str = RUNNING_LOANS
    """Which loans to count (the running ones; a test narrows it to its own)."""
    _seen: dict[str, _Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._in_stage = self.meter.create_gauge(IN_STAGE, "Running loans in each stage now")
        self._past_sla = self.meter.create_gauge(PAST_SLA, "Running loans in a stage longer than its SLA")
        self._oldest = self.meter.create_gauge_float(OLDEST, "How long the oldest loan has been in the stage", "s")

    async def _since(self, workflow_id: str, stage: str) -> datetime:
        """When the loan's current run last set ``LoanStage`` to ``stage`` (its start, when the run began
        in it: a continued run carries its stage in); now, if its history cannot be read in time."""
        try:
            return await asyncio.wait_for(self._stage_set_at(workflow_id, stage), HISTORY_READ_TIMEOUT)
        except Exception as error:  # a loan whose history cannot be read is counted from now, never dropped
            log.debug("loan %s: no history to say since when it is in %s: %s", workflow_id, stage, type(error).__name__)
            return self.now()

    async def _stage_set_at(self, workflow_id: str, stage: str) -> datetime:
        since: datetime | None = None
        async for event in self.client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.HasField("workflow_execution_started_event_attributes"):
                attributes = event.workflow_execution_started_event_attributes.search_attributes
            elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
                attributes = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            else:
                continue
            value = decode_typed_search_attributes(attributes).get(LOAN_STAGE)
            if value is not None:  # the stage set here: it holds until the next one
                since = event.event_time.ToDatetime(tzinfo=UTC) if value == stage else None
        return since or self.now()

    async def take(self) -> dict[str, tuple[int, int, float]]:
        """One census: per stage, (loans in it, loans past its SLA, the oldest's seconds in it)."""
        stages: dict[str, str] = {}
        async for execution in self.client.list_workflows(self.query):
            stages[execution.id] = execution.typed_search_attributes.get(LOAN_STAGE) or Stage.CONSULTATION.value
        now = self.now()
        for workflow_id in set(self._seen) - set(stages):
            del self._seen[workflow_id]
        unknown = [wid for wid, stage in stages.items() if wid not in self._seen]
        slots = asyncio.Semaphore(self.parallel_reads)

        async def learn(workflow_id: str) -> None:
            async with slots:
                stage = stages[workflow_id]
                self._seen[workflow_id] = _Seen(stage, await self._since(workflow_id, stage))

        await asyncio.gather(*(learn(wid) for wid in unknown))
        for workflow_id, stage in stages.items():
            if self._seen[workflow_id].stage != stage:  # moved since the last census
                self._seen[workflow_id] = _Seen(stage, now)
        figures = {stage.value: (0, 0, 0.0) for stage in Stage if stage != Stage.CLOSED}
        for seen in self._seen.values():
            count, late, oldest = figures.get(seen.stage, (0, 0, 0.0))
            age = max((now - seen.since).total_seconds(), 0.0)
            limit = next((sla for stage, sla in self.sla.items() if stage.value == seen.stage), None)
            past = limit is not None and age > limit.total_seconds()
            figures[seen.stage] = (count + 1, late + past, max(oldest, age))
        for stage, (count, late, oldest) in figures.items():
            labels = {"stage": stage}
            self._in_stage.set(count, labels)
            self._past_sla.set(late, labels)
            self._oldest.set(oldest, labels)
        return figures

    async def run(self, every: timedelta) -> None:
        """A census every ``every`` until cancelled; a failed one is logged and tried at the next."""
        while True:
            try:
                await self.take()
            except Exception:  # visibility down: the gauges keep their last values
                log.warning("loan census failed; trying again in %s", every, exc_info=True)
            await asyncio.sleep(every.total_seconds())
