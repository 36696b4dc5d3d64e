"""The store's tables (SQLAlchemy Core). Every change here comes with an Alembic migration in
``runtime/store/migrations/versions`` (a test fails when the two disagree)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

# The webhook inbox: every verified webhook, stored (sealed) before the provider gets its answer.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),  # a duplicate delivery is a no-op
    Column("provider", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("webhook_type", String(120), nullable=True),
    Column("route_key", String(200), nullable=True),  # the provider key that routes it to its loan
    # pending (waits for its route or for Temporal) | delivered | late (its loan had ended) |
    # parked (stored for an operator: unknown type, no key, unreadable) | expired (no route in time)
    Column("status", String(20), nullable=False),
    Column("note", String(500), nullable=True),
    Column("sealed_body", LargeBinary, nullable=True),  # sealed to the relay's key; purged after retention
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("loan_id", String(200), nullable=True),
    # W3C traceparent of the delivery that brought it: the relay's signal continues that trace.
    Column("trace_context", String(200), nullable=True),
    Index("ix_webhook_events_pending", "status", "route_key"),
)

# Which loan a provider key belongs to: written by the loan's activity as soon as the key exists,
# before the workflow sees it.
key_routes = Table(
    "key_routes",
    metadata,
    Column("provider_key", String(200), primary_key=True),
    Column("loan_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True), nullable=True),
)

# A provider's product table (seed 003's tabela_produto), as it answered it: refreshed by a Temporal
# Schedule, read by every loan's activity (not fetched per loan).
provider_products = Table(
    "provider_products",
    metadata,
    Column("provider", String(40), primary_key=True),
    Column("body", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
)

# The sales channel's outbox: each event a loan tells the lender's sales channel (workflows.loan.sales_channel;
# no personal data), recorded by the loan's local activity, queued until the relay's notifier delivers it
# (webhooks.outbound), in order per loan. Delivered rows stay (they are small): operators see what was told.
sales_channel_events = Table(
    "sales_channel_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(160), nullable=False, unique=True),  # the idempotency key: <request_key>:<sequence>
    Column("request_key", String(100), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("body", Text, nullable=False),  # the webhook's JSON body, exactly as it is signed and sent
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),  # queued | delivered
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),  # a notifier's lease, or its back-off
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(500), nullable=True),  # the receiver's status or the network error
    Index("ix_sales_channel_events_queue", "status", "request_key", "sequence"),
)
