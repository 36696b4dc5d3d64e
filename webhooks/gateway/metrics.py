"""Gateway counters and the receipt → stored latency, in Prometheus' format."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REJECTION_REASONS = (
    "unknown_provider",
    "too_large",
    "missing_signature",
    "wrong_client_key",
    "bad_signature",
    "body_mismatch",
    "wrong_endpoint",
    "bad_timestamp",
    "stale_timestamp",
    "future_timestamp",
    "inbox_unavailable",
)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.received = Counter("webhooks_received", "Webhook requests received", registry=self.registry)
        self.accepted = Counter(
            "webhooks_accepted",
            "Webhooks stored in the inbox (or found there already), by type and outcome",
            ["webhook_type", "outcome"],
            registry=self.registry,
        )
        self.parked = Counter(
            "webhooks_parked",
            "Webhooks stored for an operator (unroutable), by reason",
            ["reason"],
            registry=self.registry,
        )
        self.rejected = Counter("webhooks_rejected", "Webhooks refused, by reason", ["reason"], registry=self.registry)
        for reason in REJECTION_REASONS:  # every series exists from the start (a dashboard shows 0, not "no data")
            self.rejected.labels(reason=reason)
        self.latency = Histogram(
            "webhook_store_seconds",
            "From receipt to the webhook committed in the inbox",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
