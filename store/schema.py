"""The store's tables (SQLAlchemy Core). Every change here comes with an Alembic migration in
``store/migrations/versions`` (a test fails when the two disagree)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table

metadata = MetaData()

provider_tokens = Table(
    "provider_tokens",
    metadata,
    # One row per provider environment: the one token every worker process uses (seed 000: one token
    # per environment at a time, used until it expires).
    Column("environment", String(200), primary_key=True),
    Column("token", String(4000), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
