"""The business dashboard queries series that exist: a few loans (both providers, one rejected) run
on the stack, then the worker's, the gateway's and the relay's /metrics are scraped, and every metric
each panel's PromQL names must be there — with the labels the panels group by, and no PII in any
label value."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from devtools.devstack.samples import COMPLETES, POLLING_POLICY, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import ROOT, LocalStack
from domain.loan import ProviderId
from starter.api import LoanService
from workflows.loan.state import Stage

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "deploy" / "compose" / "grafana" / "dashboards" / "consignado-business.json"
ONLY_AFTER_A_FAILURE = {
    "temporal_workflow_task_execution_failed",
    "temporal_request_failure",
    "temporal_long_request_failure",
}
"""The SDK creates these counters at their first failure: a healthy stack has none (the alert tests
feed them: deploy/prometheus/alerts.test.yml)."""
GRAFANA_UNITS = {"short", "none", "ms", "s", "reqps", "ops", "percentunit", "bytes"}
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "without", "on", "max", "min", "avg"}


def _queried(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (identifiers outside label matchers and groupings)."""
    stripped = re.sub(r"\{[^}]*\}", "", expr)
    stripped = re.sub(r"by \([^)]*\)", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    return {word for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped) if word not in PROMQL_WORDS}


def _grouped_by(expr: str) -> set[str]:
    return {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for label in group.split(",")} - {"le"}


async def test_every_series_the_dashboard_queries_exists_without_pii(
    stack: LocalStack, temporal_client: Client, tmp_path: Path
) -> None:
    service = LoanService(temporal_client, stack.config.task_queue)
    loans = []
    for provider, digit in ((None, 1), (ProviderId.PROVIDER_B, 1), (None, 2)):
        cpf = sample_cpf(digit, random.Random())
        request = sample_request(COMPLETES, cpf=cpf, stamp=str(random.randrange(10**9)), documents_dir=tmp_path)
        request = request.model_copy(update={"provider": provider})
        await service.start(request, policy=POLLING_POLICY)
        loans.append(request)
    for request in loans:
        state = await service.wait_until(
            request.request_key, lambda s: s.closed or s.stage == Stage.AWAITING_SIGNATURE, seconds=90
        )
        if not state.closed and request.provider is None:
            await service.submit_signature(request.request_key, signature_now())
        await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)

    config = stack.config
    async with httpx.AsyncClient(timeout=10) as http:
        scraped = "\n".join(
            [
                (await http.get(f"http://127.0.0.1:{config.worker_metrics_port}/metrics")).text,
                (await http.get(f"{config.gateway_url}/metrics")).text,
                (await http.get(f"http://127.0.0.1:{config.relay_metrics_port}/metrics")).text,
            ]
        )
    series = [line for line in scraped.splitlines() if line and not line.startswith("#")]
    names = {re.split(r"[{ ]", line, maxsplit=1)[0] for line in series}
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert panels
    for panel in panels:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for metric in _queried(expr) - ONLY_AFTER_A_FAILURE:
                wanted = {metric, f"{metric}_total"} if not metric.endswith(("_bucket", "_total")) else {metric}
                assert wanted & names, f"panel {panel['title']!r} queries {metric}, which no process exports"
                for label in _grouped_by(expr):
                    found = [line for line in series if re.split(r"[{ ]", line, maxsplit=1)[0] in wanted]
                    assert any(f'{label}="' in line for line in found), f"{metric} has no label {label}"
    # The loans' own figures are there, with what the loans did.
    assert re.search(
        r'consignado_loans_ended\{[^}]*provider="provider_b"[^}]*status="completed"', scraped
    ) or re.search(r'consignado_loans_ended\{[^}]*status="completed"[^}]*provider="provider_b"', scraped)
    assert 'status="rejected"' in scraped
    for request in loans:  # no CPF, no name in any label
        assert request.borrower.cpf not in scraped and request.borrower.name not in scraped
    # The census counts loans per stage now (ops.loan_census), every stage there, zero or not.
    assert re.search(r'consignado_loans_in_stage\{[^}]*stage="awaiting_signature"', scraped)


def _panels() -> list[dict[str, object]]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p.get("type") != "row"]


def test_every_panel_says_its_unit() -> None:
    """A 90-day stage reads "12.9 weeks", not 7.8e9: every panel names the unit of what it shows,
    and a panel of durations names the one its series are recorded in (ms histograms, s gauges)."""
    for panel in _panels():
        unit = panel["fieldConfig"]["defaults"]["unit"]  # type: ignore[index]
        assert unit in GRAFANA_UNITS, (panel["title"], unit)
        exprs = " ".join(t["expr"] for t in panel["targets"])  # type: ignore[attr-defined]
        if "_duration_bucket" in exprs or "_latency_bucket" in exprs or "receipt_to_applied_bucket" in exprs:
            assert unit == "ms", panel["title"]
        if "_seconds" in exprs and "bucket" not in exprs:
            assert unit == "s", panel["title"]
        if "rate(" in exprs and "histogram_quantile" not in exprs:
            assert unit == "reqps", panel["title"]  # a per-second rate of events


def test_the_dashboard_shows_the_sdk_and_server_health_and_loans_waiting_now() -> None:
    queried = " ".join(t["expr"] for p in _panels() for t in p["targets"])  # type: ignore[attr-defined]
    for metric in (
        "temporal_workflow_task_execution_failed",
        "temporal_request_failure",
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        "temporal_worker_task_slots_available",
        "consignado_loans_in_stage",
        "consignado_loans_past_stage_sla",
    ):
        assert metric in queried, metric
