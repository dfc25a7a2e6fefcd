"""Stored messages moved into the past: retention tested by the store's clock, not by waiting."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from agentchat.store import messages_table


def age_messages(database_url: str, seconds: float) -> None:
    """Move every stored message `seconds` into the past: retention tested by the store's clock, not by waiting.

    A hub reads its window from the store when it starts, so start the hub that must see the old
    messages after this.
    """
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        rows = connection.execute(sa.select(messages_table.c.id, messages_table.c.created_at)).all()
        for row in rows:
            connection.execute(
                messages_table.update()
                .where(messages_table.c.id == row.id)
                .values(created_at=row.created_at - timedelta(seconds=seconds))
            )
    engine.dispose()
