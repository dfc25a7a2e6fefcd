"""Schema migrations with Alembic, run programmatically at hub start and by `agentchat db upgrade`.

The scripts live in `agentchat/migrations/`; no `alembic.ini` is needed because the
configuration is built here from the engine the store already uses. An upgrade takes a lock
first, so hubs started together on an empty database, or `db upgrade` runs beside a starting
hub, take turns instead of racing to create the same table: on PostgreSQL a session advisory
lock, on SQLite an exclusive `flock` on a file beside the database (`<file>.migrate-lock`).
SQLite's own locking does not serve: Alembic's DDL runs outside one transaction, so two
upgrades can both see an empty schema and both create its first table.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from agentchat.errors import StoreUnavailable
from agentchat.store import database_error_reason

__all__ = ["current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


MIGRATION_LOCK_KEY = 0x61676E6D  # "agnm"


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database file>.migrate-lock` (none for an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    descriptor = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes, even if the process dies
        yield
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine):
            yield
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
        try:
            yield
        finally:
            connection.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
            connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; existing rows are kept."""
    try:
        with _one_at_a_time(engine):
            command.upgrade(_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"cannot migrate the database: {database_error_reason(exc)}") from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
