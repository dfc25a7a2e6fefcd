"""Keep each message's `details`: why the agent did it (its reasoning, inputs and decision), as JSON.

Revision ID: 0007
Revises: 0006

Nullable: every message written before this revision has none, and a message may carry none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agent_chat_messages", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_chat_messages") as batch:
        batch.drop_column("details")
