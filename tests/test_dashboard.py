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
        for target in panel["targets"]:
            expr = target["expr"]
            for metric in _queried(expr):
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
