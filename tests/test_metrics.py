"""Metrics for Prometheus: the worker's Temporal SDK metrics and the gateway's webhook counters."""

from __future__ import annotations

import httpx
import pytest

from devtools.devstack.stack import LocalStack

pytestmark = pytest.mark.integration


def test_the_worker_exposes_the_sdk_metrics(stack: LocalStack) -> None:
    text = httpx.get(f"http://127.0.0.1:{stack.config.worker_metrics_port}/metrics", timeout=10).text
    assert "temporal_" in text
    assert "temporal_workflow_task_schedule_to_start_latency" in text or "temporal_request" in text


def test_the_gateway_exposes_its_counters(stack: LocalStack) -> None:
    text = httpx.get(f"{stack.config.gateway_url}/metrics", timeout=10).text
    for name in ("webhooks_received_total", "webhook_store_seconds_bucket"):
        assert name in text
