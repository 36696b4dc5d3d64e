"""The durable stores besides Temporal: one relational database (PostgreSQL in production, SQLite
embedded for the run command), its schema under Alembic migrations, and what lives in it — the
provider token the workers share (``tokens``) and the webhook inbox (``inbox``)."""
