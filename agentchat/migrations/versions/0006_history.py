"""Messages are kept for history (`AGENTCHAT_HISTORY_DAYS`), not only the live window: index them by kind.

Revision ID: 0006
Revises: 0005

The live window's reads were already served by indexes that stay as fast with a month of history
in the table: the primary key (the recent part, a range of ids), (agent_id, id) (each agent's
latest, a loose index scan) and created_at (where the retention starts, and the purge). History
filtered by kind, newest first, reads (kind, id) instead of scanning every message.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_agent_chat_messages_kind_id", "agent_chat_messages", ["kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_agent_chat_messages_kind_id", table_name="agent_chat_messages")
