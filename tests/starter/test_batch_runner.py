"""``python -m starter batch``: pacing, parallelism, per-loan outcomes, exit codes, progress, and
what it refuses before touching anything — with a stand-in for the loans (no server)."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.loan import CancelRequest, Product, Reapresentacao
from starter import cli
from starter.api import LoanService
from starter.cli import (
    DONE,
    FAILED,
    REFUSED,
    TIMED_OUT,
    WOULD_ACT,
    BatchResult,
    Progress,
    RateLimiter,
    batch_exit_code,
    run_batch,
)
from starter.client import LoanActionRefused
from workflows.loan.state import LoanState, Stage, Status


def _loans(*keys: str) -> list[dict[str, Any]]:
    return [
        {"request_key": key, "workflow_id": f"loan-{key}", "stage": "awaiting_signature", "status": "in_progress"}
        for key in keys
    ]


def _closed(key: str, reason: str = "canceled by ana: withdrawn") -> LoanState:
    return LoanState(
        request_key=key,
        product=Product.NEW_CREDIT,
        stage=Stage.CLOSED,
        status=Status.CANCELED_PERMANENTLY,
        outcome_reason=reason,
    )


async def test_calls_start_at_the_rate_and_never_exceed_the_parallel_limit() -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []
    in_flight = peak = 0

    async def act(key: str) -> LoanState:
        nonlocal in_flight, peak
        starts.append(loop.time())
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.15)
        in_flight -= 1
        return _closed(key)

    results = await run_batch(_loans(*"abcdef"), act, limiter=RateLimiter(20), parallel=2)
    assert [r.outcome for r in results] == [DONE] * 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 0.05 - 0.005  # 20 per second, evenly spaced
    assert peak == 2


async def test_each_loan_gets_its_own_outcome_in_selection_order() -> None:
    async def act(key: str) -> LoanState:
        if key == "refused":
            raise LoanActionRefused("the loan is in stage averbacao, this action needs awaiting_reapresentacao")
        if key == "broken":
            raise RuntimeError("connection reset")
        if key == "slow":
            await asyncio.sleep(5)
        return _closed(key)

    results = await run_batch(
        _loans("ok", "refused", "broken", "slow"), act, limiter=RateLimiter(100), seconds_each=0.3
    )
    assert [(r.request_key, r.outcome) for r in results] == [
        ("ok", DONE),
        ("refused", REFUSED),
        ("broken", FAILED),
        ("slow", TIMED_OUT),
    ]
    done, refused, broken, slow = results
    assert (done.status, done.stage, done.detail) == ("canceled_permanently", "closed", "canceled by ana: withdrawn")
    assert "awaiting_reapresentacao" in refused.detail and refused.stage == "awaiting_signature"
    assert broken.detail == "RuntimeError: connection reset"
    assert "no answer in 0.3 s" in slow.detail
    assert batch_exit_code(results) == 1


def _results(*outcomes: str) -> list[BatchResult]:
    return [BatchResult(f"k{i}", f"loan-k{i}", outcome, None, None) for i, outcome in enumerate(outcomes)]


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ((DONE, DONE), 0),
        ((), 0),
        ((WOULD_ACT,), 0),
        ((DONE, REFUSED), 3),
        ((TIMED_OUT, DONE), 5),
        ((REFUSED, TIMED_OUT), 1),
        ((FAILED,), 1),
    ],
)
def test_exit_code(outcomes: tuple[str, ...], code: int) -> None:
    assert batch_exit_code(_results(*outcomes)) == code


def test_progress_in_a_log_is_a_line_now_and_then() -> None:
    stream = io.StringIO()
    progress = Progress(120, stream)
    for result in _results(*([DONE] * 119 + [REFUSED])):
        progress.advance(result)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "progress 2/120" and lines[-1] == "progress 120/120, 1 failed"
    assert len(lines) == 60


def test_progress_on_a_terminal_redraws_one_bar() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(2, stream)
    for result in _results(DONE, FAILED):
        progress.advance(result)
    assert stream.getvalue() == f"\r[{'#' * 15}{'.' * 15}] 1/2\r[{'#' * 30}] 2/2, 1 failed\n"


class FakeLoans:
    """What cmd_batch needs of LoanService, over a fixed set of running loans."""

    def __init__(self, keys: list[str], matching: int | None = None) -> None:
        self.loans = _loans(*keys)
        self.matching = len(keys) if matching is None else matching
        self.calls: list[tuple[str, str, Any]] = []
        self.listed: dict[str, Any] = {}

    def loan_query(self, query: str | None = None, **filters: Any) -> str:
        return LoanService.loan_query(self, query, **filters)  # type: ignore[arg-type]

    async def count(self, query: str) -> int:
        return self.matching

    async def list(self, **filters: Any) -> list[dict[str, Any]]:
        self.listed = filters
        return self.loans[: filters["limit"]]

    async def cancel(self, key: str, request: CancelRequest) -> LoanState:
        self.calls.append(("cancel", key, request))
        return _closed(key, f"canceled by {request.operator}: {request.reason}")

    async def reapresentar(self, key: str, reapresentacao: Reapresentacao) -> LoanState:
        self.calls.append(("reapresentar", key, reapresentacao))
        raise LoanActionRefused("the loan is in stage awaiting_signature, this action needs awaiting_reapresentacao")


@pytest.fixture
def loans(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeLoans]:
    def install(keys: list[str], matching: int | None = None) -> FakeLoans:
        fake = FakeLoans(keys, matching)

        async def connect() -> Any:
            return fake

        monkeypatch.setattr(cli, "_connect", connect)
        return fake

    return install


def test_a_dry_run_lists_the_selection_and_acts_on_nothing(
    loans: Callable[..., FakeLoans], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = loans(["a-00000001", "b-00000002"])
    selection = ["--product", "refinancing", "--query", "LoanStage = 'averbacao'"]
    code = cli.main(["batch", "cancel", "--reason", "product withdrawn", "--operator", "ana", *selection, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and fake.calls == []
    assert fake.listed["running"] is True and fake.listed["product"] == "refinancing"
    assert out.splitlines()[0] == (
        "dry run: would cancel (reason 'product withdrawn', operator ana): 2 loan(s) selected by "
        "WorkflowType = 'LoanWorkflow' AND ExecutionStatus = 'Running' AND LoanProduct = 'refinancing' "
        "AND (LoanStage = 'averbacao')"
    )
    assert "a-00000001" in out and "would act" in out and out.rstrip().endswith("nothing was changed")


def test_a_batch_reports_each_loan_and_fails_when_any_refused(
    loans: Callable[..., FakeLoans], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = loans(["a-00000001", "b-00000002"])
    code = cli.main(
        ["batch", "reapresentar", "--date", "2026-12-04", "--stage", "awaiting_signature", "--json", "--rate", "50"]
    )
    captured = capsys.readouterr()
    assert code == 3
    assert [(action, key) for action, key, _ in fake.calls] == [
        ("reapresentar", "a-00000001"),
        ("reapresentar", "b-00000002"),
    ]
    report = json.loads(captured.out)
    assert report["action"] == "reapresentar" and report["dry_run"] is False
    assert report["argument"]["disbursement_date"] == "2026-12-04"
    assert [r["outcome"] for r in report["results"]] == [REFUSED, REFUSED]
    assert captured.err.splitlines()[-1] == "progress 2/2, 2 failed"


def test_a_batch_says_when_the_limit_leaves_loans_out(
    loans: Callable[..., FakeLoans], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = loans(["a-00000001", "b-00000002", "c-00000003"], matching=7)
    assert cli.main(["batch", "cancel", "--reason", "x", "--stage", "averbacao", "--limit", "2", "--rate", "50"]) == 0
    captured = capsys.readouterr()
    assert [key for _, key, _ in fake.calls] == ["a-00000001", "b-00000002"]
    assert "7 running loans match; this run takes the first 2 (--limit)" in captured.err
    assert captured.out.splitlines()[-1] == "2 loan(s): 2 done"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cancel", "--reason", "x"], "selection: give --query or --stage/--status/--product"),
        (["cancel", "--reason", "", "--stage", "averbacao"], "reason:"),
        (["cancel", "--reason", "x", "--stage", "averbacao", "--rate", "0"], "rate: must be above 0"),
        (["cancel", "--reason", "x", "--stage", "averbacao", "--parallel", "0"], "parallel: must be at least 1"),
        (["reapresentar", "--date", "2026-12-04", "--bank", "001", "--stage", "averbacao"], "disbursement_account"),
    ],
)
def test_bad_arguments_exit_2_before_any_loan_is_selected(
    loans: Callable[..., FakeLoans], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    fake = loans(["a-00000001"])
    assert cli.main(["batch", *args]) == 2
    assert message in capsys.readouterr().err
    assert fake.listed == {} and fake.calls == []


def _readme_batch_commands() -> list[list[str]]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Batch operator actions\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    prefix = ".venv/bin/python -m starter "
    return [shlex.split(line.split(prefix, 1)[1], comments=True) for line in block.splitlines() if prefix in line]


def test_the_readme_batch_commands_parse() -> None:
    commands = _readme_batch_commands()
    assert len(commands) == 3
    for argv in commands:
        args = cli.build_parser().parse_args(argv)
        assert args.handler is cli.cmd_batch and (args.query or args.stage or args.product)
