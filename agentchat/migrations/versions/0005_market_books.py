"""Keep the simulated market and every agent's book in the store, and each round's books for history.

Revision ID: 0005
Revises: 0004

A database written before this revision keeps its messages; the market and the books start from
an empty state at the next round (the first round of a fresh market).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_chat_market",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seed", sa.String(40), nullable=False),
        sa.Column("round", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("round_agents", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agent_chat_books",
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("book", sa.Text(), nullable=False),
        sa.Column("round", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agent_chat_book_history",
        sa.Column("round", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("equity", sa.Float(), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
    )
    op.create_index("ix_agent_chat_book_history_agent_id_round", "agent_chat_book_history", ["agent_id", "round"])


def downgrade() -> None:
    op.drop_table("agent_chat_book_history")
    op.drop_table("agent_chat_books")
    op.drop_table("agent_chat_market")
