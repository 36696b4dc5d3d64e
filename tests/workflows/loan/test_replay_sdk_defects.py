"""Histories our workflow code produced that the Temporal SDK in use (temporalio 1.35.0, the newest on
the index) cannot replay — kept so the day an SDK upgrade replays them, this fails (strict xfail) and
they move to tests/histories with the others.

``storm_update_after_a_query_ahead_of_its_task``: a happy new-credit loan from the storm test of issue
30 (a worker killed mid ``attach_documents``, Temporal killed, the activity retried a minute later on
the new worker). The workflow task that took the documents' answer and the borrower's signature Update
recorded, in this order, the stage upsert (51), the sales channel's local activity (52), then the
Update's acceptance (53) and the ``sign`` activity (54): the Update reached the workflow in a later
activation than the activity's result. A replay hands both to the workflow in one activation, and the
SDK applies Updates before activity results, so the acceptance comes first and the replay fails with
"Update machine does not handle this event: HistoryEvent(id: 51, UpsertWorkflowSearchAttributes)".
The workflow's code cannot order that; the likeliest cause is a query the new worker answered from a
history already holding the activity's result before the task that delivered it (a worker that just
started answers queries for loans it has not run yet — its stage census did, for every loan). Since
then the census reads histories instead of querying, and the storm test follows loans through
visibility; a query of a loan whose next task is pending can still leave such a history.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from temporalio.client import HeaderCodecBehavior, WorkflowHistory
from temporalio.worker import Replayer

from runtime.temporal import data_converter
from tests.workflows.loan.test_replay import TEST_CODEC
from workflows.loan.workflow import LoanWorkflow
from workflows.mailbox.workflow import ProviderKeyMailbox

DEFECTS = sorted((Path(__file__).resolve().parents[2] / "histories" / "sdk_defects").glob("*.json.gz"))


@pytest.mark.xfail(strict=True, reason="temporalio 1.35.0: an Update delivered after an activity result (see above)")
@pytest.mark.parametrize("path", DEFECTS, ids=lambda p: p.name.removesuffix(".json.gz"))
async def test_history_replays_once_the_sdk_is_fixed(path: Path) -> None:
    history = WorkflowHistory.from_json(path.name, gzip.decompress(path.read_bytes()).decode())
    replayer = Replayer(
        workflows=[LoanWorkflow, ProviderKeyMailbox],
        data_converter=data_converter(TEST_CODEC),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_the_defect_is_the_update_after_the_activity_result() -> None:
    """What the kept history shows (the xfail above must fail for this reason, not another)."""
    [path] = DEFECTS
    history = WorkflowHistory.from_json(path.name, gzip.decompress(path.read_bytes()).decode())
    kinds = {event.event_id: event.WhichOneof("attributes") for event in history.events}
    assert [kinds[n] for n in (50, 51, 52, 53, 54)] == [
        "workflow_task_completed_event_attributes",
        "upsert_workflow_search_attributes_event_attributes",
        "marker_recorded_event_attributes",
        "workflow_execution_update_accepted_event_attributes",
        "activity_task_scheduled_event_attributes",
    ]
