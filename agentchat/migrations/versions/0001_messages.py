"""Create agent_chat_messages.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_chat_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("agent_name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_agent_chat_messages_created_at", "agent_chat_messages", ["created_at"])
    op.create_index("ix_agent_chat_messages_agent_id_id", "agent_chat_messages", ["agent_id", "id"])


def downgrade() -> None:
    op.drop_table("agent_chat_messages")
