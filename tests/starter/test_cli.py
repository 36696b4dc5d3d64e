"""``python -m starter`` against the running stack, as an operator or a script would use it."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devtools.devstack.samples import SAMPLES, sample_cpf, sample_request
from devtools.devstack.stack import ROOT, LocalStack

pytestmark = pytest.mark.integration


def cli(stack: LocalStack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.config.common_env()}
    return subprocess.run(
        [sys.executable, "-m", "starter", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _request_file(tmp_path: Path, digit: int) -> tuple[Path, dict[str, object]]:
    cpf = sample_cpf(digit, random.Random())
    request = sample_request(SAMPLES[0], cpf=cpf, stamp=str(random.randrange(10**9)), documents_dir=tmp_path)
    body = request.model_dump(mode="json")
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    return path, body


def test_start_is_idempotent_and_says_so(stack: LocalStack, tmp_path: Path) -> None:
    path, body = _request_file(tmp_path, 2)
    first = cli(stack, "start", str(path))
    second = cli(stack, "start", str(path), "--json")
    assert first.returncode == 0 and "started" in first.stdout, first.stderr
    assert second.returncode == 0
    assert json.loads(second.stdout) == {"workflow_id": f"loan-{body['request_key']}", "already_existed": True}


def test_invalid_requests_exit_2_naming_each_field(stack: LocalStack, tmp_path: Path) -> None:
    path, body = _request_file(tmp_path, 1)
    body["borrower"]["cpf"] = "14950479033"  # type: ignore[index]
    del body["financial"]["number_of_installments"]  # type: ignore[attr-defined]
    path.write_text(json.dumps(body))
    done = cli(stack, "start", str(path))
    assert done.returncode == 2
    assert "borrower.cpf" in done.stderr and "check digits" in done.stderr
    assert "financial.number_of_installments" in done.stderr
    assert cli(stack, "status", str(body["request_key"])).returncode == 4  # nothing was started


def test_follow_sign_and_complete_a_loan(stack: LocalStack, tmp_path: Path) -> None:
    path, body = _request_file(tmp_path, 1)
    key = str(body["request_key"])
    started = cli(stack, "start", str(path), "--wait", "awaiting_signature")
    assert started.returncode == 0, started.stderr
    assert "... consultation" in started.stdout  # progress while it waits
    assert "stage awaiting_signature" in started.stdout
    refused = cli(stack, "reduce", key, "--installment", "100.00")
    assert refused.returncode == 3 and "awaiting_installment_reduction" in refused.stderr
    signed = cli(stack, "sign", key, "--ip", "203.0.113.9", "--score", "0.95", "--biometry", "serpro")
    assert signed.returncode == 0, signed.stderr
    finished = cli(stack, "wait", key, "closed", "--json")
    assert finished.returncode == 0, finished.stderr
    state = json.loads(finished.stdout)
    assert (state["status"], state["outcome_reason"]) == ("completed", "disbursed")
    listed = cli(stack, "list", "--status", "completed", "--json")
    assert key in [loan["request_key"] for loan in json.loads(listed.stdout)]
    by_cpf = cli(stack, "list", "--cpf", str(body["borrower"]["cpf"]), "--json")  # type: ignore[index]
    assert [loan["request_key"] for loan in json.loads(by_cpf.stdout)] == [key]
    status = cli(stack, "status", key)
    assert status.returncode == 0 and "[completed]" in status.stdout and body["borrower"]["cpf"] not in status.stdout  # type: ignore[index]


def test_cancel_from_the_command_line(stack: LocalStack, tmp_path: Path) -> None:
    path, body = _request_file(tmp_path, 1)
    key = str(body["request_key"])
    assert cli(stack, "start", str(path), "--wait", "awaiting_signature").returncode == 0
    canceled = cli(stack, "cancel", key, "--reason", "borrower withdrew", "--operator", "ana")
    assert canceled.returncode == 0, canceled.stderr
    assert "[canceled_permanently]" in canceled.stdout and "canceled by ana: borrower withdrew" in canceled.stdout


def test_a_person_reads_the_loan_in_pt_br_plain_text(stack: LocalStack, tmp_path: Path) -> None:
    """The same money, rate and date texts as the Web UI (tests/webui/test_web_ui.py), and no markdown."""
    path, body = _request_file(tmp_path, 1)
    key = str(body["request_key"])
    assert cli(stack, "start", str(path), "--wait", "awaiting_signature").returncode == 0
    status = cli(stack, "status", key)
    state = json.loads(cli(stack, "status", key, "--json").stdout)
    window_end = datetime.fromisoformat(state["disbursement_window_end"]).astimezone(ZoneInfo("America/Sao_Paulo"))
    last_day = window_end.date() - timedelta(days=1)  # the window ends at the midnight after its last day
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[1] == (
        "  awaiting_signature: waiting for the borrower's signature, "
        f"último dia para desembolso {last_day.day:02d}/{last_day.month:02d}/{last_day.year}"
    )
    assert any(line.startswith("  84 x R$ 250,00, released R$ ") for line in lines), lines
    assert "  rate 1,66 % a.m., CET " in status.stdout
    assert "**" not in status.stdout and "`" not in status.stdout


def test_actions_on_a_missing_or_closed_loan_exit_4_without_a_traceback(stack: LocalStack, tmp_path: Path) -> None:
    missing = cli(stack, "cancel", "no-such-loan-27", "--reason", "test", "--operator", "ana")
    assert (missing.returncode, missing.stderr.strip()) == (4, "no loan with request key no-such-loan-27")
    assert cli(stack, "status", "no-such-loan-27").returncode == 4
    path, body = _request_file(tmp_path, 1)
    key = str(body["request_key"])
    assert cli(stack, "start", str(path), "--wait", "awaiting_signature").returncode == 0
    assert cli(stack, "cancel", key, "--reason", "borrower withdrew", "--operator", "ana").returncode == 0
    again = cli(stack, "cancel", key, "--reason", "again", "--operator", "ana")
    signed = cli(stack, "sign", key, "--ip", "203.0.113.9", "--score", "0.95", "--biometry", "serpro")
    for closed in (again, signed):
        assert closed.returncode == 4, closed.stderr
        assert closed.stderr.strip() == f"loan {key} is closed (canceled_permanently): it takes no more actions"
        assert "Traceback" not in closed.stderr


def test_bad_operator_input_is_refused_before_reaching_the_loan(stack: LocalStack) -> None:
    done = cli(stack, "sign", "any-key-123", "--ip", "not-an-ip", "--biometry", "serpro")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "invalid: ip_address: value is not a valid IPv4 or IPv6 address",
    )
    no_score = cli(stack, "sign", "any-key-123", "--ip", "203.0.113.9", "--biometry", "tse")
    assert no_score.returncode == 2 and "similarity_score is required" in no_score.stderr
