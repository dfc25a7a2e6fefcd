"""Remember the Idempotency-Key of each generated round on its messages.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_chat_messages", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.create_index("ix_agent_chat_messages_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("agent_chat_messages", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index("ix_agent_chat_messages_idempotency_key")
        batch.drop_column("idempotency_key")
