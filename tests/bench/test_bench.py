"""The benchmark harness runs end to end (``--quick``) and produces every figure of the table.

No figure is asserted against a target (these machines are shared and noisy); what is checked is
that each measurement happened: the loans and floor workflows completed, a loan's history was read
and its webhooks' delivery timed, the run's workflows were counted, the teimosinha loan applied one
webhook per averbação attempt, memory was sampled, the gateway's webhooks were acknowledged and
delivered, and the outage ran with webhooks arriving through it. Whether the outage lost any, or
left a loan unfinished, is a figure: printed, not asserted here (the inbox's own tests assert it).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.stack import ROOT

pytestmark = pytest.mark.integration

ROWS = (
    "pricing quotes/s",
    "loans end to end, 1 worker",
    "floor, 1 worker",
    "loans/s ÷ floor/s, 1 worker",
    "loans end to end, 2 workers",
    "floor, 2 workers",
    "loans/s ÷ floor/s, 2 workers",
    "history events per happy-path loan",
    "  its webhooks, receipt → delivered",
    "teimosinha",
    "workflows per loan",
    "worker RSS per 1,000 open loans",
    "gateway at",
    "  receipt → delivered to its workflow",
    "Temporal killed for",
    "  loans after the restart",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, float]]:
    output = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(output.read_text())["figures"]


def test_prints_one_table_with_every_figure_and_the_core_count(quick_run: tuple[str, dict[str, float]]) -> None:
    table, _ = quick_run
    assert "cores" in table.splitlines()[1]
    for row in ROWS:
        assert any(line.startswith(row) for line in table.splitlines()), f"missing row {row!r}:\n{table}"


def test_each_measurement_ran(quick_run: tuple[str, dict[str, float]]) -> None:
    _, figures = quick_run
    for batch in ("loans_1_worker", "floor_1_worker", "loans_2_workers", "floor_2_workers"):
        assert figures[batch] > 0
        assert figures[f"{batch}_completed"] == 8, batch  # --quick's batch size
    assert figures["ratio_1_worker"] > 0 and figures["ratio_2_workers"] > 0
    assert figures["loan_events"] > 20  # a loan's history was read: consultation alone is more
    # One webhook per attempt reached the loan (dated an hour apart, none was a duplicate), plus
    # the happy path's own.
    assert figures["teimosinha_loan_signals"] >= figures["teimosinha_attempts"] + 4
    assert figures["worker_mib_per_1000_open_loans"] > 0
    assert figures["loan_webhook_delivered_p99_ms"] > 0  # the relay delivered the loans' webhooks
    assert figures["workflows_per_loan"] > 0  # visibility was listed (the value itself is a figure)
    assert figures["gateway_p99_ms"] > 0
    assert figures["gateway_delivered"] > 0 and figures["gateway_delivered_p99_ms"] > 0
    # The sandbox kept sending through the outage; lost webhooks and finished loans are printed.
    assert figures["outage_sandbox_events"] > 0
    assert figures["outage_lost_webhooks"] >= 0 and figures["outage_loans_completed"] >= 0
    assert figures["pricing_quotes_per_cpu_second"] > 0
