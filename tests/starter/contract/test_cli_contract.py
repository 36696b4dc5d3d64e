"""A loan started, signed and followed by the official ``temporal`` CLI and the codec server only —
what a service in any language does through its SDK, with no Python on the client side.

Python prepares the test data (a sample request, written to a file); every call to Temporal is the
``temporal`` binary, in an environment that holds no Temporal settings and no codec keys: the
payloads are encrypted and decrypted by the codec server's ``/encode`` and ``/decode``.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request
from devtools.devstack.stack import LocalStack, binary
from domain.calendar import SAO_PAULO
from domain.documents import keyed_hash

pytestmark = pytest.mark.integration

T = TypeVar("T")


class TemporalCli:
    """The ``temporal`` binary pointed at the stack's server, through its codec server."""

    def __init__(self, stack: LocalStack, home: Path) -> None:
        config = stack.config
        self.connection = ["--address", config.temporal_address, "--namespace", "default"]
        self.codec = ["--codec-endpoint", config.codec_url, "--codec-auth", f"Bearer {config.codec_token}"]
        # Nothing of ours in its environment: no TEMPORAL_* settings, no CODEC_KEYS, its own profile folder.
        self.env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}

    def run(self, *args: str, codec: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary("temporal"), *args, *self.connection, *(self.codec if codec else [])],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def json(self, *args: str, codec: bool = True) -> Any:
        done = self.run(*args, "--output", "json", codec=codec)
        assert done.returncode == 0, f"temporal {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)

    def state(self, workflow_id: str) -> dict[str, Any]:
        answer = self.json("workflow", "query", "--workflow-id", workflow_id, "--name", "state")
        state: dict[str, Any] = answer["queryResult"][0]
        return state


def eventually(what: str, probe: Callable[[], T | None], *, seconds: float, every: float = 0.5) -> T:
    """``probe()`` until it answers something; fails (never hangs) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(every)


def test_start_sign_and_follow_a_loan_with_the_temporal_cli_only(stack: LocalStack, tmp_path: Path) -> None:
    cli = TemporalCli(stack, tmp_path / "home")
    cpf = sample_cpf(1, random.Random())  # the sandbox completes a CPF starting with 1 by itself
    request = sample_request(COMPLETES, cpf=cpf, stamp=f"cli{random.randrange(10**9)}", documents_dir=tmp_path)
    key = request.request_key
    workflow_id = f"loan-{key}"
    loan_input = tmp_path / "input.json"
    loan_input.write_text(json.dumps({"request": request.model_dump(mode="json")}))  # no rules: the worker's

    start = (
        "workflow",
        "start",
        "--type",
        "LoanWorkflow",
        "--task-queue",
        stack.config.task_queue,
        "--workflow-id",
        workflow_id,
        "--id-conflict-policy",
        "Fail",
        "--id-reuse-policy",
        "RejectDuplicate",
        "--search-attribute",
        'LoanProduct="new_credit"',
        "--input-file",
        str(loan_input),
    )
    started = cli.json(*start)
    assert (started["workflowId"], started["type"]) == (workflow_id, "LoanWorkflow")
    # The request key never makes a second loan: a repeated start answers the running one (the SDKs'
    # default), or fails when asked to.
    assert cli.json(*start)["runId"] == started["runId"]
    refused = cli.run(*start, "--fail-existing")
    assert refused.returncode != 0 and "already running" in refused.stderr

    def stage_reached() -> dict[str, Any] | None:
        state = cli.state(workflow_id)
        assert state["status"] == "in_progress", state
        return state if state["stage"] == "awaiting_signature" else None

    waiting = eventually("awaiting_signature", stage_reached, seconds=120)
    assert waiting["request_key"] == key and waiting["rules_name"]  # the worker pinned its rules
    assert waiting["chosen_option"]["installment_value"] == "250.00"

    # Refusals come back as Update failures that say why (the validator's message, decoded by the codec).
    wrong_stage = cli.run(
        "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", "reduce_installment",
        "--input", '{"installment_value": "100.00"}',
    )  # fmt: skip
    assert wrong_stage.returncode != 0 and "awaiting_installment_reduction" in wrong_stage.stderr
    signature = {
        "ip_address": "203.0.113.9",
        "signature_datetime": datetime.now(SAO_PAULO).isoformat(),
        "similarity_score": "0.95",
        "biometry_analysis_reference": "serpro",
    }
    bad = cli.run(
        "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", "submit_signature",
        "--input", json.dumps({**signature, "ip_address": "not-an-ip"}),
    )  # fmt: skip
    assert bad.returncode != 0 and "ip_address" in bad.stderr

    signature_file = tmp_path / "signature.json"
    signature_file.write_text(json.dumps(signature))
    signed = cli.json(
        "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", "submit_signature",
        "--input-file", str(signature_file),
    )  # fmt: skip
    assert signed["name"] == "submit_signature" and signed["result"]["signature_submitted_at"]

    def closed() -> dict[str, Any] | None:
        state = cli.state(workflow_id)
        return state if state["status"] != "in_progress" else None

    final = eventually("the loan to close", closed, seconds=120)
    assert (final["status"], final["stage"], final["outcome_reason"]) == ("completed", "closed", "disbursed")
    assert final["disbursed"] and final["debt_key"]

    outcome = cli.json("workflow", "result", "--workflow-id", workflow_id)
    assert outcome["status"] == "COMPLETED"
    assert outcome["result"]["status"] == "completed" and outcome["result"]["request_key"] == key

    # Operators find it by its search attributes (visibility is eventually consistent).
    query = f"WorkflowId = '{workflow_id}' AND LoanStatus = 'completed' AND LoanProduct = 'new_credit'"
    listed = eventually(
        "the loan in visibility", lambda: cli.json("workflow", "list", "--query", query) or None, seconds=30
    )
    assert [execution["execution"]["workflowId"] for execution in listed] == [workflow_id]

    # What Temporal stored is ciphertext: without the codec the input is binary/encrypted, no CPF in it.
    history = cli.run("workflow", "show", "--workflow-id", workflow_id, "--output", "json", codec=False)
    assert history.returncode == 0, history.stderr
    first = json.loads(history.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    assert base64.b64decode(first["metadata"]["encoding"]) == b"binary/encrypted"
    assert cpf not in history.stdout and request.borrower.name not in history.stdout


def test_a_bare_request_from_the_cli_is_routed_by_the_worker_and_found_by_cpf(
    stack: LocalStack, tmp_path: Path
) -> None:
    # What a Go or CLI caller that knows only the caller's schema sends: the request alone — no
    # provider, no rules, no search attributes. The worker routes it and publishes what the Python
    # starter would have set.
    cli = TemporalCli(stack, tmp_path / "home")
    cpf = sample_cpf(1, random.Random())
    request = sample_request(COMPLETES, cpf=cpf, stamp=f"bare{random.randrange(10**9)}", documents_dir=tmp_path)
    assert request.provider is None
    workflow_id = f"loan-{request.request_key}"
    bare = tmp_path / "request.json"
    bare.write_text(json.dumps(request.model_dump(mode="json", exclude_none=True)))
    cli.json(
        "workflow", "start", "--type", "LoanWorkflow", "--task-queue", stack.config.task_queue,
        "--workflow-id", workflow_id, "--input-file", str(bare),
    )  # fmt: skip

    def routed() -> dict[str, Any] | None:
        state = cli.state(workflow_id)
        return state if state.get("provider") else None

    assert eventually("the worker's routing", routed, seconds=60)["provider"] == "qitech"
    cpf_hash = keyed_hash(cpf, stack.config.pii_hash_key.encode())
    query = f"BorrowerCpfHash = '{cpf_hash}' AND LoanProduct = 'new_credit' AND LoanProvider = 'qitech'"
    listed = eventually("the loan by CPF", lambda: cli.json("workflow", "list", "--query", query) or None, seconds=30)
    assert [execution["execution"]["workflowId"] for execution in listed] == [workflow_id]
    cli.run("workflow", "terminate", "--workflow-id", workflow_id, "--reason", "test done")


def test_a_request_the_worker_cannot_read_ends_rejected_naming_the_field(stack: LocalStack, tmp_path: Path) -> None:
    cli = TemporalCli(stack, tmp_path / "home")
    cpf = sample_cpf(1, random.Random())
    request = sample_request(COMPLETES, cpf=cpf, stamp=f"bad{random.randrange(10**9)}", documents_dir=tmp_path)
    body = request.model_dump(mode="json", exclude_none=True)
    body["borrower"]["cpf"] = cpf[:-1] + str((int(cpf[-1]) + 1) % 10)  # a wrong check digit
    workflow_id = f"loan-{request.request_key}"
    unreadable = tmp_path / "request.json"
    unreadable.write_text(json.dumps(body))
    cli.json(
        "workflow", "start", "--type", "LoanWorkflow", "--task-queue", stack.config.task_queue,
        "--workflow-id", workflow_id, "--input-file", str(unreadable),
    )  # fmt: skip
    # Ends at once (no workflow task failing over and over), rejected, the field named, no CPF echoed.
    outcome = cli.json("workflow", "result", "--workflow-id", workflow_id)
    assert outcome["status"] == "COMPLETED"
    result = outcome["result"]
    assert result["status"] == "rejected" and result["request_key"] == request.request_key
    assert result["reason"].startswith("unreadable request: borrower.cpf")
    assert body["borrower"]["cpf"] not in result["reason"]
