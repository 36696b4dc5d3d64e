"""The provider token table goes: the provider authenticates each request by its signature, with no
token to share (docs.qitech.com.br/documentation/primeiros_passos/teste_de_autenticacao/teste_de_autenticacao_v2).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("provider_tokens")


def downgrade() -> None:
    op.create_table(
        "provider_tokens",
        sa.Column("environment", sa.String(200), primary_key=True),
        sa.Column("token", sa.String(4000), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
