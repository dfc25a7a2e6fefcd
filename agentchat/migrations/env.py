"""Alembic environment: runs against the engine handed over by `agentchat.migrate`."""

from __future__ import annotations

from alembic import context

from agentchat.store import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
