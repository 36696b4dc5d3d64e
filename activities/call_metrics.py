"""The provider client's calls as metrics (the worker wires it; activities run outside workflows)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import MetricMeter

from activities.qitech.client import CallObserver, ProviderCall
from workflows.loan.metrics import PROVIDER_CALL_TIME, PROVIDER_CALLS


def provider_call_observer(meter: MetricMeter) -> CallObserver:
    """The provider client's calls as metrics: by method, endpoint template, HTTP status and code."""
    calls = meter.create_counter(PROVIDER_CALLS, "Calls to the provider, by endpoint, status and error code")
    duration = meter.create_histogram_timedelta(PROVIDER_CALL_TIME, "Provider call duration", "ms")

    def observe(call: ProviderCall) -> None:
        labels = {"method": call.method, "endpoint": call.endpoint, "status": str(call.status)}
        calls.add(1, {**labels, "code": call.code or "-"})
        duration.record(timedelta(seconds=call.seconds), labels)

    return observe
