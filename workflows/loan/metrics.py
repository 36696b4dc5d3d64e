"""The business's figures, from inside the loans: started and ended loans by product, provider and
outcome; time spent in each stage; Dataprev's averbação answers by code; webhook receipt → applied.

Emitted with the workflow's metric meter (``workflow.metric_meter()``): nothing is emitted while a
workflow replays, so a figure counts what happened once, whatever the worker restarts. They reach
Prometheus through the worker's SDK endpoint (``WORKER_METRICS_BIND``) beside Temporal's own.
Labels carry no PII: product, provider, stage, status, Dataprev code and action only.

Derived from the state each time the loan publishes it (``workflows.loan.visibility.Publisher``), so the stage
code needs no metric calls of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import MetricMeter

from workflows.loan.state import LoanState, Stage, Status

STARTED = "consignado_loans_started"
ENDED = "consignado_loans_ended"
STAGE_TIME = "consignado_loan_stage_duration"
DATAPREV_ANSWERS = "consignado_dataprev_answers"
WEBHOOK_APPLIED = "consignado_webhook_receipt_to_applied"
POLLS = "consignado_provider_polls"
PROVIDER_CALLS = "consignado_provider_calls"
PROVIDER_CALL_TIME = "consignado_provider_call_duration"

# Histogram buckets (milliseconds) for the worker's Prometheus endpoint: stages last from seconds to
# months (the 90-day DDB rule), webhooks from milliseconds to minutes.
STAGE_BUCKETS_MS = [
    seconds * 1000.0 for seconds in (1, 10, 60, 600, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400, 100 * 86_400)
]
WEBHOOK_BUCKETS_MS = [10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10_000.0, 60_000.0, 600_000.0]
CALL_BUCKETS_MS = [25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10_000.0, 20_000.0]
BUCKET_OVERRIDES = {
    STAGE_TIME: STAGE_BUCKETS_MS,
    WEBHOOK_APPLIED: WEBHOOK_BUCKETS_MS,
    PROVIDER_CALL_TIME: CALL_BUCKETS_MS,
}


class LoanMetrics:
    """What the loan emits, and what it has already emitted (so each fact counts once per run)."""

    def __init__(self) -> None:
        self._seen_stage: Stage | None = None
        self._seen_answers = 0
        self._seen_answer: tuple[str, datetime | None] | None = None
        self._last_event: str | None = None
        self._seen_polls = 0
        self._ended = False

    def observe(self, state: LoanState, provider: str) -> None:
        meter = workflow.metric_meter().with_additional_attributes(
            {"product": state.product.value, "provider": provider}
        )
        now = workflow.now()
        if self._seen_stage is None:  # this run's first look (a new loan, or a continued one)
            if state.runs == 1 and state.stage_since is None:
                meter.create_counter(STARTED, "Loans started").add(1)
            state.stage_since = state.stage_since or now
            self._seen_stage = state.stage
            self._seen_answers, self._seen_polls = state.averbacao_answers, state.polls
            answer = state.last_dataprev
            self._seen_answer = (answer.enumerator, answer.at) if answer else None
            self._last_event = state.events[-1].event_id if state.events else None
            self._ended = state.status != Status.IN_PROGRESS
        elif state.stage != self._seen_stage:
            since = state.stage_since or now
            meter.create_histogram_timedelta(STAGE_TIME, "Time a loan spent in a stage", "ms").record(
                max(now - since, timedelta(0)), {"stage": self._seen_stage.value}
            )
            state.stage_since, self._seen_stage = now, state.stage
        answer = state.last_dataprev
        if answer is not None and (answer.enumerator, answer.at) != self._seen_answer:
            # Each new answer (errors repeat as teimosinha; the success is the last one).
            meter.create_counter(DATAPREV_ANSWERS, "Dataprev averbação answers, by code and action").add(
                max(state.averbacao_answers - self._seen_answers, 1),
                {"code": answer.code or "-", "enumerator": answer.enumerator, "action": answer.action},
            )
            self._seen_answer = (answer.enumerator, answer.at)
        self._seen_answers = state.averbacao_answers
        if state.polls > self._seen_polls:
            meter.create_counter(POLLS, "Times a loan asked a polled provider").add(state.polls - self._seen_polls)
        self._seen_polls = state.polls
        self._applied(state, meter, now)
        if state.status != Status.IN_PROGRESS and not self._ended:
            self._ended = True
            meter.create_counter(ENDED, "Loans ended, by outcome").add(1, {"status": state.status.value})

    def _applied(self, state: LoanState, meter: MetricMeter, now: datetime) -> None:
        ids = [event.event_id for event in state.events]
        start = ids.index(self._last_event) + 1 if self._last_event in ids else 0
        fresh = state.events[start:]
        if not fresh:
            return
        histogram = meter.create_histogram_timedelta(
            WEBHOOK_APPLIED, "From the gateway's receipt of a provider event to the loan applying it", "ms"
        )
        for event in fresh:
            if event.event_id.startswith(("lookup:", "answer:")):
                continue  # found by asking the provider, or its answer to a call: not received
            histogram.record(max(now - event.received_at, timedelta(0)), {"webhook_type": event.webhook_type})
        self._last_event = fresh[-1].event_id
