"""Remember Idempotency-Keys in their own table, longer than messages are retained.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from agentchat.message import Message, dumps

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_chat_rounds",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_chat_rounds_created_at", "agent_chat_rounds", ["created_at"])
    _copy_keys_from_messages()
    rebuilt = op.batch_alter_table("agent_chat_messages", table_kwargs={"sqlite_autoincrement": True})
    with _ids_never_reused(), rebuilt as batch:
        batch.drop_index("ix_agent_chat_messages_idempotency_key")
        batch.drop_column("idempotency_key")


@contextlib.contextmanager
def _ids_never_reused() -> Iterator[None]:
    """SQLite rebuilds the table to drop a column; keep its AUTOINCREMENT counter where it was.

    Without this, a database whose messages were all purged would hand out id 1 again, and a
    client resuming with Last-Event-ID would skip every message up to its old position.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    sequence = "SELECT seq FROM sqlite_sequence WHERE name = 'agent_chat_messages'"
    before = bind.execute(sa.text(sequence)).scalar() or 0
    yield
    after = bind.execute(sa.text(sequence)).scalar()
    if after is None:
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('agent_chat_messages', :seq)"), {"seq": before}
        )
    elif after < before:
        bind.execute(
            sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = 'agent_chat_messages'"), {"seq": before}
        )


def _copy_keys_from_messages() -> None:
    """Keys that revision 0002 kept on message rows become rounds, so none is forgotten by the upgrade."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, agent_id, agent_name, kind, content, created_at, meta, idempotency_key "
            "FROM agent_chat_messages WHERE idempotency_key IS NOT NULL ORDER BY id"
        )
    ).all()
    rounds: dict[str, list[Any]] = {}
    for row in rows:
        rounds.setdefault(row.idempotency_key, []).append(row)
    rounds_table = sa.table(
        "agent_chat_rounds",
        sa.column("idempotency_key", sa.String()),
        sa.column("response", sa.Text()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for key, messages in rounds.items():
        response = [
            Message(
                id=row.id,
                agent_id=row.agent_id,
                agent_name=row.agent_name,
                kind=row.kind,
                content=row.content,
                created_at=_utc(row.created_at),
                meta=json.loads(row.meta) if isinstance(row.meta, str) else dict(row.meta or {}),
            ).to_dict()
            for row in messages
        ]
        created_at = _utc(messages[0].created_at)
        op.execute(rounds_table.insert().values(idempotency_key=key, response=dumps(response), created_at=created_at))


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def downgrade() -> None:
    with op.batch_alter_table("agent_chat_messages", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.create_index("ix_agent_chat_messages_idempotency_key", ["idempotency_key"])
    op.drop_table("agent_chat_rounds")
