"""A few happy new-credit loans on an ephemeral local stack, and where their histories' bytes are:

    .venv/bin/python -m devtools.bench.one_loan            # one loan
    .venv/bin/python -m devtools.bench.one_loan --loans 3  # three (webhooks race: shapes differ a little)

Prints each loan's shape as the bench reads it (``system.shape_of``: events, protobuf bytes as stored,
upserts, ...), then the first loan's history event by event (its type, its bytes, what it names) and
its bytes by event type. A minute on two cores: for checking a change to a loan's history without the
full bench. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from devtools.bench.__main__ import SANDBOX
from devtools.bench.system import LoanFactory, bench_stack, histories, loan_service, run_loans, shape_of
from devtools.devstack.stack import LocalStack, StackConfig

LIMIT_SECONDS = 180.0


def _names(event: HistoryEvent) -> str:
    """What an event names: its activity, marker, signal, Update or the search attributes it sets."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return event.activity_task_scheduled_event_attributes.activity_type.name
    if kind == EventType.EVENT_TYPE_MARKER_RECORDED:
        return event.marker_recorded_event_attributes.marker_name
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        return event.workflow_execution_signaled_event_attributes.signal_name
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        return event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
    if kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        return ",".join(sorted(fields))
    return ""


def describe(history: WorkflowHistory) -> str:
    lines = []
    by_kind: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        by_kind[kind] += event.ByteSize()
        count[kind] += 1
        lines.append(f"{event.event_id:4d}  {kind:42s} {event.ByteSize():6d}  {_names(event)}")
    lines.append("")
    lines.extend(f"{kind:42s} {count[kind]:4d} events {size:7d} bytes" for kind, size in by_kind.most_common())
    return "\n".join(lines)


async def _run(stack: LocalStack, loans: int) -> None:
    config = stack.config
    client, service = await loan_service(config, "one-loan")
    batch = await run_loans(service, LoanFactory(config.data_dir / "documents"), loans, "one", LIMIT_SECONDS)
    print(f"outcomes: {dict(batch.outcomes)}")
    found = await histories(client, batch.workflow_ids)
    for history in found:
        shape = shape_of(history)
        print(
            f"{history.workflow_id}: {shape.events} events, {shape.bytes} bytes (largest event "
            f"{shape.largest_payload}), {shape.describe()}"
        )
    print()
    print(describe(found[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=1)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="one-loan-") as folder,
        bench_stack(StackConfig.ephemeral(Path(folder), workers=0, sandbox_env=SANDBOX)) as stack,
    ):
        asyncio.run(_run(stack, args.loans))


if __name__ == "__main__":
    main()
