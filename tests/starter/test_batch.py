"""``python -m starter batch`` against the running stack: loans selected by a visibility query, a
dry run that changes nothing, a rate-limited run with a line per loan and an exit code that says
whether every loan took the action."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request
from devtools.devstack.stack import LocalStack
from domain.calendar import SAO_PAULO
from tests.starter.test_cli import cli

pytestmark = pytest.mark.integration

T = TypeVar("T")


def eventually(what: str, probe: Callable[[], T | None], *, seconds: float = 60.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.5)


def _start_waiting_for_signature(stack: LocalStack, tmp_path: Path, scenario: dict[str, Any] | None = None) -> str:
    cpf = sample_cpf(1, random.Random())
    if scenario:
        httpx.put(f"{stack.config.sandbox_url}/_sandbox/scenarios/{cpf}", json=scenario, timeout=10).raise_for_status()
    request = sample_request(COMPLETES, cpf=cpf, stamp=f"batch{random.randrange(10**9)}", documents_dir=tmp_path)
    path = tmp_path / f"{request.request_key}.json"
    path.write_text(json.dumps(request.model_dump(mode="json")))
    started = cli(stack, "start", str(path), "--wait", "awaiting_signature", "--timeout", "90")
    assert started.returncode == 0 and "stage awaiting_signature" in started.stdout, started.stderr
    return request.request_key


def _state(stack: LocalStack, key: str) -> dict[str, Any]:
    done = cli(stack, "status", key, "--json")
    assert done.returncode == 0, done.stderr
    state: dict[str, Any] = json.loads(done.stdout)
    return state


def _only(keys: list[str]) -> str:
    return "WorkflowId IN (" + ", ".join(f"'loan-{key}'" for key in keys) + ")"


def _dry_run(stack: LocalStack, action: list[str], selection: list[str], expect: int) -> dict[str, Any]:
    """The dry run's report once visibility shows ``expect`` loans (it is eventually consistent)."""

    def report() -> dict[str, Any] | None:
        done = cli(stack, "batch", *action, *selection, "--dry-run", "--json")
        assert done.returncode == 0, done.stderr
        found: dict[str, Any] = json.loads(done.stdout)
        return found if len(found["results"]) == expect else None

    return eventually(f"{expect} loan(s) selected", report)


def test_batch_cancel_by_query_after_a_dry_run_that_changes_nothing(stack: LocalStack, tmp_path: Path) -> None:
    keys = [_start_waiting_for_signature(stack, tmp_path) for _ in range(2)]
    cancel = ["cancel", "--reason", "product withdrawn", "--operator", "ana"]
    selection = ["--query", _only(keys), "--stage", "awaiting_signature", "--product", "new_credit"]

    report = _dry_run(stack, cancel, selection, expect=2)
    assert report["dry_run"] is True and report["argument"] == {"reason": "product withdrawn", "operator": "ana"}
    assert sorted(r["request_key"] for r in report["results"]) == sorted(keys)
    assert {r["outcome"] for r in report["results"]} == {"would act"}
    human = cli(stack, "batch", *cancel, *selection, "--dry-run")
    assert human.returncode == 0 and "dry run: would cancel" in human.stdout and "nothing was changed" in human.stdout
    for key in keys:  # the dry runs touched nothing
        state = _state(stack, key)
        assert (state["status"], state["stage"], state["operator_actions"]) == ("in_progress", "awaiting_signature", [])

    done = cli(stack, "batch", *cancel, *selection, "--rate", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for key in keys:
        [line] = [line for line in lines if line.strip().startswith(key)]
        assert "done" in line and "canceled_permanently closed" in line and "canceled by ana: product withdrawn" in line
    assert lines[-1] == "2 loan(s): 2 done"
    assert done.stderr.splitlines()[-1] == "progress 2/2"
    for key in keys:
        state = _state(stack, key)
        assert (state["status"], state["outcome_reason"]) == (
            "canceled_permanently",
            "canceled by ana: product withdrawn",
        )

    _dry_run(stack, cancel, ["--query", _only(keys)], expect=0)  # closed loans are never selected again
    nothing = cli(stack, "batch", *cancel, "--query", _only(keys))
    assert nothing.returncode == 0 and nothing.stdout.splitlines()[-1] == "0 loan(s): nothing to do"


def test_batch_reapresentar_after_ted_refusals_reports_each_loan(stack: LocalStack, tmp_path: Path) -> None:
    refused_ted = _start_waiting_for_signature(stack, tmp_path, {"disbursement": ["ted_refusal", "success"]})
    signed = cli(stack, "sign", refused_ted, "--ip", "203.0.113.9", "--score", "0.95", "--biometry", "serpro")
    assert signed.returncode == 0, signed.stderr
    waiting = cli(stack, "wait", refused_ted, "awaiting_reapresentacao", "--timeout", "90")
    assert waiting.returncode == 0 and "stage awaiting_reapresentacao" in waiting.stdout, waiting.stderr
    unsigned = _start_waiting_for_signature(stack, tmp_path)  # a loan the action does not fit

    new_date = (datetime.now(SAO_PAULO) + timedelta(days=2)).date().isoformat()
    again = ["reapresentar", "--date", new_date, "--note", "TED incident"]
    selection = ["--query", _only([refused_ted, unsigned])]
    _dry_run(stack, again, selection, expect=2)

    done = cli(stack, "batch", *again, *selection, "--rate", "5", "--json")
    assert done.returncode == 3, done.stdout + done.stderr  # one refused: non-zero, and it says which
    results = {r["request_key"]: r for r in json.loads(done.stdout)["results"]}
    assert results[refused_ted]["outcome"] == "done"
    assert results[unsigned]["outcome"] == "refused"
    assert "this action needs awaiting_reapresentacao" in results[unsigned]["detail"]

    finished = cli(stack, "wait", refused_ted, "closed", "--json", "--timeout", "90")
    assert finished.returncode == 0, finished.stderr
    state = json.loads(finished.stdout)
    assert (state["status"], state["reapresentacoes"]) == ("completed", 1)
    assert _state(stack, unsigned)["stage"] == "awaiting_signature"  # the refusal changed nothing
    assert cli(stack, "cancel", unsigned, "--reason", "test over").returncode == 0
