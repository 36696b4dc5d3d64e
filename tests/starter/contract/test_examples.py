"""Every example request of the contract (contract/examples/), started with nothing but the ``temporal``
CLI and the codec server, reaches the documented end of the sample loan it plays.

Each example is started as it is written, but for what a request must carry on the day it starts:
its financial dates moved by as many days as today is past the day they were written for, the term
signed now, and its documents served from files (the examples name a document service's addresses).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from devtools.contract import CONTRACT_DIR
from devtools.contract_readme import EXAMPLE_SAMPLES, EXAMPLES
from devtools.devstack.samples import SAMPLES, Sample, SampleRun, sample_scenario
from devtools.devstack.stack import LocalStack
from domain.calendar import SAO_PAULO
from tests.starter.contract.test_cli_contract import TemporalCli

pytestmark = pytest.mark.integration

WRITTEN_FOR = date(2026, 12, 1)
"""The day the examples' dates were written for (as in test_caller_schema)."""

DOCUMENT_SERVICE = re.compile(r"^https://documents\.lender\.example/(?P<path>.+)$")


def _ready_for_today(request: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The example, dated for today and with its documents as local files (nothing else changes)."""
    today = datetime.now(SAO_PAULO).date()
    moved: dict[str, Any] = json.loads(json.dumps(request))
    financial = moved["financial"]
    shift = today - WRITTEN_FOR
    for field in ("disbursement_date", "first_due_date"):
        financial[field] = (date.fromisoformat(financial[field]) + shift).isoformat()
    moved["authorization_term"]["signed_at"] = datetime.now(SAO_PAULO).isoformat()
    for shade, document in enumerate(moved.get("documents", {}).values()):
        found = DOCUMENT_SERVICE.match(document["uri"])
        assert found, document["uri"]
        path = folder / found["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (480, 320), (40 * shade, 90, 140)).save(path, format="JPEG")
        document["uri"] = path.resolve().as_uri()
    return moved


def _play_scenario(stack: LocalStack, sample: Sample, request: dict[str, Any], folder: Path) -> None:
    """What the run command sets at the sandboxes for this sample, for the example's CPF and operations."""
    cpf = request["borrower"]["cpf"]
    operations = request.get("refinanced_operations") or []
    run = SampleRun(cpf=cpf, folder=folder)
    if operations:  # the operation the sandbox lists for this CPF is the one the example refinances
        run = SampleRun(cpf=cpf, folder=folder, operation_key=operations[0]["operation_key"])
    scenario = sample_scenario(sample, run)
    if scenario:
        url = stack.config.sandbox_b_url if request.get("provider") == "provider_b" else stack.config.sandbox_url
        httpx.put(f"{url}/_sandbox/scenarios/{cpf}", json=scenario, timeout=10).raise_for_status()
    if sample.portability is not None:
        target = f"{stack.config.sandbox_url}/_sandbox/portability/scenarios/{cpf}"
        httpx.put(target, json=sample.portability, timeout=10).raise_for_status()


def start_args(request: dict[str, Any], task_queue: str, input_file: Path) -> tuple[str, ...]:
    """The ``temporal`` CLI's start of an example (the Java example makes the same call, test_java_example)."""
    return (
        "workflow", "start", "--type", "LoanWorkflow", "--task-queue", task_queue,
        "--workflow-id", f"loan-{request['request_key']}", "--id-reuse-policy", "RejectDuplicate",
        "--search-attribute", f'LoanProduct="{request.get("product", "new_credit")}"',
        "--input-file", str(input_file),
    )  # fmt: skip


SIGNATURE_UPDATE = "submit_signature"


def _signature() -> dict[str, Any]:
    return {
        "ip_address": "203.0.113.9",
        "signature_datetime": datetime.now(SAO_PAULO).isoformat(),
        "similarity_score": "0.95",
        "biometry_analysis_reference": "serpro",
    }


def test_every_example_started_with_the_temporal_cli_reaches_its_samples_end(stack: LocalStack, tmp_path: Path) -> None:
    cli = TemporalCli(stack, tmp_path / "home")
    by_name = {sample.name: sample for sample in SAMPLES}
    loans: dict[str, Sample] = {}
    for name, sample_name in sorted(EXAMPLE_SAMPLES.items()):
        sample = by_name[sample_name]
        example = json.loads((CONTRACT_DIR / EXAMPLES / name).read_text(encoding="utf-8"))
        request = _ready_for_today(example["request"], tmp_path / "documents")
        _play_scenario(stack, sample, request, tmp_path / "documents")
        input_file = tmp_path / "inputs" / name
        input_file.parent.mkdir(exist_ok=True)
        input_file.write_text(json.dumps({"request": request}), encoding="utf-8")
        workflow_id = f"loan-{request['request_key']}"
        started = cli.json(*start_args(request, stack.config.task_queue, input_file))
        assert started["workflowId"] == workflow_id
        loans[workflow_id] = sample

    # Follow them as the run command does: sign where the sample signs, until each settles. The second
    # provider's example asks for news at the worker's own pace (a minute, back to a minute at each
    # change: about two minutes here), which the bound allows for with room.
    last: dict[str, dict[str, Any]] = {}
    signed: set[str] = set()
    deadline = time.monotonic() + 360
    while time.monotonic() < deadline:
        for workflow_id, sample in loans.items():
            state = last.get(workflow_id)
            if state is not None and _settled(sample, state):
                continue
            state = last[workflow_id] = cli.state(workflow_id)
            reductions = (state.get("portability") or {}).get("reductions", 0)
            signature = f"{workflow_id}#{reductions}"
            if sample.sign and state["stage"] == "awaiting_signature" and signature not in signed:
                signature_file = tmp_path / "signature.json"
                signature_file.write_text(json.dumps(_signature()), encoding="utf-8")
                cli.json(
                    "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", SIGNATURE_UPDATE,
                    "--input-file", str(signature_file),
                )  # fmt: skip
                signed.add(signature)
        if all(workflow_id in last and _settled(s, last[workflow_id]) for workflow_id, s in loans.items()):
            break
        time.sleep(1.0)
    ends = {workflow_id: _end(last.get(workflow_id)) for workflow_id in loans}
    assert ends == {workflow_id: sample.outcome for workflow_id, sample in loans.items()}, {
        workflow_id: (last.get(workflow_id) or {}).get("outcome_reason") for workflow_id in loans
    }


def _end(state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    return str(state["status"] if state["status"] != "in_progress" else state["stage"])


def _settled(sample: Sample, state: dict[str, Any]) -> bool:
    return state["status"] != "in_progress" or (sample.settles_in is not None and state["stage"] == sample.settles_in)
