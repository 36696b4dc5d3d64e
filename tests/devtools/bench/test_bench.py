"""The benchmark harness runs end to end (``--quick``) and produces every figure of the table.

No figure is asserted against a target (these machines are shared and noisy); what is checked is
that each measurement happened: the loans and the fixed floor's workflows completed, both were
metered (CPU) and their histories read (events, bytes), the floor ran the shape devtools/bench/floor.py
declares, the loans' webhooks were timed to delivered and to applied, the run's workflows were
counted, the teimosinha loan applied one webhook per averbação attempt, memory was sampled, the
gateway's webhooks were acknowledged, delivered and applied while loans ran beside them, and the
outage ran with webhooks arriving through it. Whether a target is met, whether the outage lost a
webhook or left a loan unfinished, are figures: printed, not asserted here (the inbox's own tests
assert the outage's).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.devstack.stack import ROOT
from tests.support.clock import needs_real_clock

pytestmark = pytest.mark.integration

ROWS = (
    "pricing quotes/s",
    "loans end to end, 1 worker",
    "fixed floor, 1 worker",
    "CPU ms per loan, what we run (1 worker)",
    "CPU ms per floor workflow, server + worker (1 worker)",
    "CPU ratio, loan ÷ floor (1 worker)",
    "loans end to end, 2 workers",
    "fixed floor, 2 workers",
    "CPU ratio, loan ÷ floor (2 workers)",
    "history events per happy loan",
    "history bytes per happy loan",
    "  where a loan's bytes are",
    "loan's shape (read from its history)",
    "fixed floor's shape (declared from seed 004)",
    "  its webhooks, receipt → delivered",
    "  its webhooks, receipt → applied in the loan",
    "teimosinha",
    "workflows per loan",
    "worker memory per open, cached loan",
    "gateway at",
    "  receipt → delivered to its workflow",
    "  receipt → applied in the sink workflows",
    "  the loans' webhooks, receipt → applied in the loan",
    "  CPU per webhook, by process (loans running beside)",
    # --quick's paces (10/s and 40/s), one relay and then two sharing the inbox, loans beside.
    "relay: 10 webhooks/s, 1 relay, 3 loans",
    "relay: 40 webhooks/s, 1 relay, 3 loans",
    "relay: 10 webhooks/s, 2 relays, 3 loans",
    "relay: 40 webhooks/s, 2 relays, 3 loans",
    "Temporal killed for",
    "  loans after the restart",
)
# Each row with a target says whether it is met (the words, never which).
VERDICTS = ("CPU ratio, loan ÷ floor (1 worker)", "history events per happy loan", "history bytes per happy loan")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, float]]:
    needs_real_clock("Temporal's dev server")
    output = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench", "--quick", "--json", str(output)],
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
    lines = table.splitlines()
    assert "cores" in lines[1]
    for row in ROWS:
        assert any(line.startswith(row) for line in lines), f"missing row {row!r}:\n{table}"
    for row in VERDICTS:
        line = next(line for line in lines if line.startswith(row))
        assert line.endswith((" — met", " — NOT MET")), line


def test_each_measurement_ran(quick_run: tuple[str, dict[str, float]]) -> None:
    _, figures = quick_run
    for batch in ("loans_1_worker", "floor_1_worker", "loans_2_workers", "floor_2_workers"):
        assert figures[batch] > 0
        assert figures[f"{batch}_completed"] == 8, batch  # --quick's batch size
    for workers in ("1_worker", "2_workers"):  # both sides were metered
        assert figures[f"cpu_ms_per_loan_{workers}"] > 0 and figures[f"cpu_ms_per_floor_{workers}"] > 0
        assert figures[f"cpu_ratio_{workers}"] > 0
    assert figures["floor_activities"] == 9  # the declared shape ran: 9 provider calls
    assert figures["loan_events"] > 20  # a loan's history was read: consultation alone is more
    assert figures["loan_history_bytes"] > 1000
    # One webhook per attempt reached the loan (dated an hour apart, none was a duplicate), plus
    # the happy path's own.
    assert figures["teimosinha_loan_signals"] >= figures["teimosinha_attempts"] + 4
    assert figures["worker_mib_per_cached_loan"] > 0
    assert figures["loan_webhook_delivered_p99_ms"] > 0  # the relay delivered the loans' webhooks
    assert figures["loan_webhook_applied_p99_ms"] > 0  # and the loans' histories timed them applied
    assert figures["workflows_per_loan"] > 0  # visibility was listed (the value itself is a figure)
    assert figures["gateway_p99_ms"] > 0
    assert figures["gateway_delivered"] > 0 and figures["gateway_delivered_p99_ms"] > 0
    assert figures["gateway_applied_p99_ms"] > 0
    # Loans ran beside the gateway's load; how many of their webhooks fell inside it is a figure.
    assert figures["loans_under_load_completed"] > 0 and figures["loan_webhooks_under_load"] >= 0
    # The webhook path's CPU was metered, each process of it and the load generator.
    for process in ("gateway", "relay", "temporal", "sink_worker", "load_generator"):
        assert figures[f"gateway_cpu_ms_{process}"] > 0, process
    assert figures["gateway_cpu_ms_per_webhook"] > figures["gateway_cpu_ms_gateway"]
    assert figures["gateway_cpu_busy"] > 0 and 0 < figures["gateway_machine_busy"] <= 1
    # The relay's paces, with one relay and with two: every run's webhooks were delivered and applied.
    for rate in (10, 40):
        for relays in (1, 2):
            run = f"{rate}_{relays}"
            assert figures[f"relay_delivered_{run}"] > 0 and figures[f"relay_delivered_p99_ms_{run}"] > 0, run
            assert figures[f"relay_applied_p99_ms_{run}"] > 0, run
    # The sandbox kept sending through the outage; lost webhooks and finished loans are printed.
    assert figures["outage_sandbox_events"] > 0
    assert figures["outage_lost_webhooks"] >= 0 and figures["outage_loans_completed"] >= 0
    # The gateway down past the provider's retries: callbacks were given up on (what the recovery job
    # is measured on); how many it brought back is a figure.
    assert figures["gateway_outage_given_up"] > 0
    assert figures["gateway_outage_lost_webhooks"] >= 0 and figures["gateway_outage_loans_completed"] >= 0
    assert figures["pricing_quotes_per_cpu_second"] > 0
