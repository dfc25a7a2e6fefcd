"""Give the store an identity, and remember what body each Idempotency-Key was used with.

`agent_chat_store` holds one row: a random `store_id` created with this revision. The hub
carries it in the stream's `ready` event and the messages answer, so a client can tell a
different (or recreated) store from the one its ids came from. `agent_chat_rounds.body_hash`
is a digest of the round's request, so the same key with a different body is refused (422);
rounds remembered before this revision have none and are not checked.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from agentchat.message import utc_now

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    store = op.create_table(
        "agent_chat_store",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("store_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(store, [{"id": 1, "store_id": uuid.uuid4().hex, "created_at": utc_now()}])
    with op.batch_alter_table("agent_chat_rounds") as batch:
        batch.add_column(sa.Column("body_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_chat_rounds") as batch:
        batch.drop_column("body_hash")
    op.drop_table("agent_chat_store")
