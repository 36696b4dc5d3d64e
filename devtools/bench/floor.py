"""The fixed floor: the bare workflow of a happy new-credit loan's *business* shape, doing no work.

Declared here once, from the seed manuals (``devtools/bench/seed_bodies.py`` reads the bodies from
spec/seeds), never from our loan's history: a loan that grows an event, a signal or a payload does
not grow the floor, so the CPU ratio (loan ÷ floor) sees it. What it runs, and where each element
comes from:

* **one activity per provider call a happy new-credit loan needs** (seed 001 gives the endpoints,
  004 the bodies; each activity's input is the request body, its result the provider's answer):

  ============================  =========================================================  ==========
  call                          input → result (seed 004 line of the body)                  bytes
  ============================  =========================================================  ==========
  benefits request (§1)         request with the authorization term (l. 7) → key (l. 73)    614 → 85
  balance request (§2, case 1)  request, term already sent (l. 126) → key (l. 132)          80 → 93
  simulation (§3)               new credit by installment (l. 286) → the answer (l. 410),   499 → 114 K
                                each of its 4 disbursement options' schedule grown from
                                the 4 printed installments to 84 (the bench's loans)
  issuance (§4)                 new credit, no representative (l. 995) → the answer as      1.5 K → 42 K
                                printed (l. 1599: 8 options x 10 installments; an
                                84-installment answer would be larger: the floor stays at
                                the printed size, which only makes the ratio harder)
  3 document uploads (§5)       one per document the attach body names (identity front,     ~90 → ~60
                                back, selfie): a reference to the JPEG (a workflow never
                                carries the image) → its document key; run together
  attach documents (§5)         the three keys (l. 3534) → nothing                          184 → 0
  signature (§6)                the fields §6 requires (printed as a fragment) → the        166 → 121
                                answer (l. 3566); runs inside the signature Update
  ============================  =========================================================  ==========

* **one signal per webhook the provider sends on the happy path**, each the seed's body wrapped
  as the gateway hands it on (an event id, the receipt time, the body): benefits answer (§1,
  l. 80), balance answer (§2, l. 181), signature received (§6, l. 3566: the debt webhook), collateral
  constituted (§7, l. 3638) and disbursed (the debt webhook's shape, §7 l. 3673, with status
  ``disbursed``). The activity that triggers them sends them (the provider answers the call, then
  calls back), so their sending is counted in the floor worker's CPU. Not counted: the issuance
  answer, which seed 004 prints as the call's response; our sandbox *also* delivers it as a
  webhook (an assumption of the sandbox), which the loan pays for and the floor does not.
* **the signature Update** (``submit_signature``), found through one search-attribute upsert
  (``LoanStage = 'awaiting_signature'``: the formalization front end must find the loans to sign,
  and the bench's driver finds them that way for the loan and the floor alike);
* **two timers**, as the loan has: a consultation deadline (started first, canceled once the
  balance answers) and the disbursement window (started at issuance, still pending at the end).

The workflow input is the issuance request (l. 995): what a loan knows when it starts. Activities
are regular (not local) and retried on the same policy shape as the loan's. The worker has the
project's converter, codec (AES-GCM) and tracing interceptor (``runtime.temporal.connect``) and the
loan worker's limits: the floor is the engine *as we run it*, with the business's bodies.

The same worker runs ``BenchSink``: a workflow that only takes ``provider_event`` signals, the
target the gateway benchmark routes its keys to (the relay delivers only to a running workflow).

Run its worker as ``python -m devtools.bench.floor`` (same settings as ``worker.py``; the task queue comes
from ``TEMPORAL_TASK_QUEUE``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from activities.qitech.models.webhooks import ReceivedWebhook
    from devtools.bench import seed_bodies as seed
    from runtime.settings import TemporalSettings, WorkerSettings
    from runtime.telemetry import exit_now
    from runtime.temporal import connect
    from workflows.loan.contract import PROVIDER_EVENT_SIGNAL
    from workflows.loan.visibility import LOAN_STAGE

FLOOR_WORKFLOW = "BenchFloor"
SINK_WORKFLOW = "BenchSink"
FLOOR_TASK_QUEUE = "bench-floor"
AWAITING_SIGNATURE = "awaiting_signature"
SIGNATURE_UPDATE = "submit_signature"
EVENT_SIGNAL = PROVIDER_EVENT_SIGNAL

log = logging.getLogger("devtools.bench.floor")

# The answer each call gets, and the webhooks the provider sends after it (module constants: the
# activities do no work but hand them back).
ANSWERS: dict[str, dict[str, Any] | None] = {
    "request_benefits": seed.BENEFITS_ANSWER,
    "request_balance": seed.BALANCE_ANSWER,
    "simulate": seed.SIMULATION_ANSWER,
    "issue_debt": seed.ISSUANCE_ANSWER,
    "upload_document": {"document_key": "2893fc74-88fd-4cc9-a5c6-8a63d9d00f41"},  # a key as §5 prints them
    "attach_documents": None,
    "sign": seed.SIGNATURE_ANSWER,
}
WEBHOOKS_AFTER: dict[str, tuple[dict[str, Any], ...]] = {
    "request_benefits": (seed.BENEFITS_WEBHOOK,),
    "request_balance": (seed.BALANCE_WEBHOOK,),
    "sign": (seed.SIGNATURE_WEBHOOK, seed.COLLATERAL_WEBHOOK, seed.DISBURSED_WEBHOOK),
}
HAPPY_WEBHOOKS = sum(len(w) for w in WEBHOOKS_AFTER.values())
CONSULTATION_DEADLINE = timedelta(days=1)
DISBURSEMENT_WINDOW = timedelta(days=4)  # seed 004 §3: limit_days_to_disburse 3, to the day's end
CALL_TIMEOUT = timedelta(seconds=60)
CALL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


def floor_input() -> dict[str, Any]:
    """What a floor workflow starts with: the seed's issuance request."""
    return seed.ISSUANCE_REQUEST


@activity.defn(name="floor_call")
async def floor_call(call: dict[str, Any]) -> dict[str, Any] | None:
    """One provider call: the request body came in (``call["body"]``), the seed's answer goes back,
    and the webhooks that follow the call are signalled to the workflow as the gateway would."""
    name: str = call["call"]
    webhooks = WEBHOOKS_AFTER.get(name, ())
    if webhooks:
        handle = activity.client().get_workflow_handle(call["workflow_id"])
        for body in webhooks:
            received = {"event_id": str(uuid.uuid4()), "received_at": datetime.now(UTC).isoformat(), "webhook": body}
            await handle.signal(EVENT_SIGNAL, received)
    return ANSWERS[name]


@workflow.defn(name=FLOOR_WORKFLOW)
class FloorWorkflow:
    def __init__(self) -> None:
        self._webhooks = 0
        self._awaiting_signature = False
        self._signed = False
        self._window: asyncio.Task[None] | None = None

    @workflow.run
    async def run(self, request: dict[str, Any]) -> int:
        consultation = asyncio.create_task(workflow.sleep(CONSULTATION_DEADLINE, summary="consultation deadline"))
        await self._call("request_benefits", seed.BENEFITS_REQUEST)
        await workflow.wait_condition(lambda: self._webhooks >= 1)  # the balance asks for its benefit
        await self._call("request_balance", seed.BALANCE_REQUEST)
        await workflow.wait_condition(lambda: self._webhooks >= 2)  # the simulation needs the margin
        consultation.cancel()
        await self._call("simulate", seed.SIMULATION_REQUEST)
        await self._call("issue_debt", request)
        # Pending to the end, as a loan's window is (nothing to do when it fires on a finished loan).
        self._window = asyncio.create_task(workflow.sleep(DISBURSEMENT_WINDOW, summary="disbursement window"))
        await asyncio.gather(
            *(
                self._call("upload_document", {"role": role, "uri": f"https://documents.invalid/{role}.jpg"})
                for role in seed.DOCUMENT_ROLES
            )
        )
        await self._call("attach_documents", seed.ATTACH_REQUEST)
        self._awaiting_signature = True
        workflow.upsert_search_attributes([LOAN_STAGE.value_set(AWAITING_SIGNATURE)])
        await workflow.wait_condition(lambda: self._signed and self._webhooks >= HAPPY_WEBHOOKS)
        return self._webhooks

    async def _call(self, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
        call = {"call": name, "workflow_id": workflow.info().workflow_id, "body": body}
        answer: dict[str, Any] | None = await workflow.execute_activity(
            floor_call, call, start_to_close_timeout=CALL_TIMEOUT, retry_policy=CALL_RETRY
        )
        return answer

    @workflow.signal(name=EVENT_SIGNAL)
    def provider_event(self, event: dict[str, Any]) -> None:
        self._webhooks += 1

    @workflow.update(name=SIGNATURE_UPDATE)
    async def submit_signature(self, submission: dict[str, Any]) -> int:
        self._awaiting_signature = False
        await self._call("sign", seed.SIGNATURE_REQUEST)
        self._signed = True
        return self._webhooks

    @submit_signature.validator
    def _validate(self, submission: dict[str, Any]) -> None:
        if not self._awaiting_signature:
            raise ValueError("not waiting for a signature")


@workflow.defn(name=SINK_WORKFLOW)
class SinkWorkflow:
    """Stands in for a loan as the relay's target: decodes each delivered webhook (as a loan does)
    and counts it. Runs until terminated; the benchmark's stack is thrown away after it."""

    def __init__(self) -> None:
        self._events = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: False)
        return self._events

    @workflow.signal(name=EVENT_SIGNAL)
    def provider_event(self, event: ReceivedWebhook) -> None:
        self._events += 1


async def run_worker() -> None:
    temporal, options = TemporalSettings(), WorkerSettings()
    logging.basicConfig(level=options.log_level, format="%(asctime)s floor %(levelname)s %(name)s: %(message)s")
    client = await connect(temporal, identity=f"floor-{os.getpid()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The same limits as the loan worker (worker.py), so the two figures compare like with like.
    worker = Worker(
        client,
        task_queue=temporal.task_queue,
        workflows=[FloorWorkflow, SinkWorkflow],
        activities=[floor_call],
        **options.worker_limits(),
    )
    async with worker:
        log.info("worker polling %s on %s", temporal.task_queue, temporal.where())
        await stop.wait()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(run_worker())
    exit_now(0)
