"""Messages on disk: SQLAlchemy 2.x Core over SQLite (default) or PostgreSQL (psycopg 3).

The store is synchronous on purpose: the hub calls it from a worker thread, which keeps
one code path for both databases and keeps the event loop free for the fan-out.

Ids are assigned by the database inside the insert transaction. The hub serializes
its own inserts and publishes in commit order (SQLite has one writer anyway);
`Store.insert_round` takes `round_lock` from the dialect so that several hubs on one
PostgreSQL cannot commit id 7 before id 6 is visible.

Any database failure surfaces as `StoreUnavailable`, which the hub turns into a 503. So does
a SQLite file that was deleted or replaced under the running hub (its device and inode are
remembered at the first connection): writes into an unlinked file would be acknowledged and
then lost, so none is accepted. A store dropped and created again under a running hub (a
PostgreSQL database restored or recreated) has another identity row: once the hub has read its
store's identity (`identify`), every write checks it in its own transaction, so the hub never
publishes the new store's ids as if they continued the old store's.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from agentchat.errors import IdempotencyKeyReused, StoreUnavailable
from agentchat.message import Draft, Message, dumps, utc_now

__all__ = [
    "IDEMPOTENCY_SECONDS",
    "Bounds",
    "RoundWriter",
    "Store",
    "create_store_engine",
    "database_error_reason",
    "messages_table",
    "metadata",
    "rounds_table",
    "store_table",
]

metadata = sa.MetaData()

messages_table = sa.Table(
    "agent_chat_messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("agent_name", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("meta", sa.JSON(), nullable=False),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True),  # revision 0006: why the agent did it
    sa.Index("ix_agent_chat_messages_created_at", "created_at"),
    sa.Index("ix_agent_chat_messages_agent_id_id", "agent_id", "id"),
    sqlite_autoincrement=True,
)

rounds_table = sa.Table(
    "agent_chat_rounds",
    metadata,
    sa.Column("idempotency_key", sa.String(200), primary_key=True),
    sa.Column("response", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body_hash", sa.String(64), nullable=True),
    sa.Index("ix_agent_chat_rounds_created_at", "created_at"),
)

store_table = sa.Table(  # one row: the store's identity, created with the schema (revision 0004)
    "agent_chat_store",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("store_id", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

IDEMPOTENCY_SECONDS = 24 * 3600  # how long a round's Idempotency-Key is remembered, at least

PAGE_SIZE = 1000  # rows per query when reading everything after an id
ROUND_LOCK_KEY = 0x61676E74  # "agnt": the PostgreSQL advisory lock that orders inserts across hubs

RoundWriter = Callable[[Connection], Sequence[Draft]]  # runs inside `insert_round`'s transaction


@dataclass(frozen=True, slots=True)
class Bounds:
    """The oldest and newest retained ids (both None when nothing is retained)."""

    earliest_id: int | None
    last_id: int | None


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return on_connect


def create_store_engine(database_url: str, timeout_seconds: float = 5.0, pool_size: int = 5) -> Engine:
    """An engine with the pragmas and timeouts that make failures quick and visible."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": timeout_seconds}, pool_pre_ping=True
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas(int(timeout_seconds * 1000)))
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg2", ""):
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=timeout_seconds,
        connect_args={
            "connect_timeout": max(1, int(timeout_seconds)),
            "options": f"-c statement_timeout={int(timeout_seconds * 1000)}",
        },
    )


def database_error_reason(error: SQLAlchemyError) -> str:
    """The driver's first line ("connection refused", "database is locked"), without SQLAlchemy's wrapping."""
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def _identity_row(connection: Connection) -> str:
    found = connection.execute(sa.select(store_table.c.store_id).where(store_table.c.id == 1)).scalar()
    if found is None:
        raise StoreUnavailable("database unavailable: the store has no identity row (agent_chat_store)")
    return str(found)


def _row_to_message(row: sa.Row[Any]) -> Message:
    created_at: datetime = row.created_at
    if created_at.tzinfo is None:  # SQLite keeps no zone; we only ever write UTC
        created_at = created_at.replace(tzinfo=UTC)
    return Message(
        id=row.id,
        agent_id=row.agent_id,
        agent_name=row.agent_name,
        kind=row.kind,
        content=row.content,
        created_at=created_at,
        meta=dict(row.meta or {}),
        details=dict(row.details) if row.details else None,
    )


class Store:
    """Insert, read since an id, and purge; retention is applied to every read."""

    def __init__(self, engine: Engine, retention_seconds: float) -> None:
        self.engine = engine
        self.retention = timedelta(seconds=retention_seconds)
        self.is_postgres = engine.dialect.name == "postgresql"
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._file = Path(database) if database and database != ":memory:" else None
        self._file_identity: tuple[int, int] | None = None
        self.identity: str | None = None  # the store id the hub serves, once `identify` has read it

    def check_file(self) -> None:
        """A SQLite file deleted or replaced since the first connection is a `StoreUnavailable` (one `stat`)."""
        if self._file is None:
            return
        try:
            found = os.stat(self._file)
        except FileNotFoundError:
            if self._file_identity is None:
                return  # not created yet: the first connection creates it
            raise StoreUnavailable(f"database unavailable: the file {self._file} was removed") from None
        identity = (found.st_dev, found.st_ino)
        if self._file_identity is None:
            self._file_identity = identity
        elif identity != self._file_identity:
            raise StoreUnavailable(f"database unavailable: the file {self._file} was replaced")

    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        self.check_file()
        try:
            with self.engine.begin() if write else self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"database unavailable: {database_error_reason(exc)}") from exc

    def _retained(self) -> sa.ColumnElement[bool]:
        return messages_table.c.created_at >= utc_now() - self.retention

    def ping(self) -> None:
        with self._connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def store_id(self) -> str:
        """The identity created with the schema: a new or recreated store has another one."""
        with self._connect() as connection:
            return _identity_row(connection)

    def identify(self) -> str:
        """Read the store's identity and hold every later write to it; the hub calls it at start."""
        self.identity = self.store_id()
        return self.identity

    def _check_identity(self, connection: Connection) -> None:
        found = _identity_row(connection)
        if self.identity is not None and found != self.identity:
            raise StoreUnavailable(
                f"database unavailable: a different store ({found}, the hub serves {self.identity}); restart the hub"
            )

    def check_writable(self) -> str:
        """Take the write lock and touch the identity row, then roll back; return the store id.

        `/healthz` calls it, so a store that can be read but not written (read-only, locked,
        deleted under the hub) is reported as down.
        """
        with self._connect() as connection, connection.begin() as transaction:
            touched = connection.execute(
                sa.update(store_table).where(store_table.c.id == 1).values(created_at=store_table.c.created_at)
            ).rowcount
            found = connection.execute(sa.select(store_table.c.store_id).where(store_table.c.id == 1)).scalar()
            transaction.rollback()
        if not touched or found is None:
            raise StoreUnavailable("database unavailable: the store has no identity row (agent_chat_store)")
        return str(found)

    def last_assigned_id(self) -> int:
        """The highest message id the store ever handed out, retained or not (0 for none)."""
        if self.is_postgres:
            query = sa.text(
                "SELECT COALESCE((SELECT last_value FROM pg_sequences"
                " WHERE sequencename = 'agent_chat_messages_id_seq' LIMIT 1), 0)"
            )
        else:
            query = sa.text("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'agent_chat_messages'), 0)")
        newest = sa.select(sa.func.coalesce(sa.func.max(messages_table.c.id), 0))
        with self._connect() as connection:
            return max(int(connection.execute(query).scalar() or 0), int(connection.execute(newest).scalar() or 0))

    def insert_round(
        self,
        drafts: Sequence[Draft] | RoundWriter,
        idempotency_key: str | None = None,
        before_commit: Callable[[Connection, list[Message]], None] | None = None,
        body_hash: str | None = None,
    ) -> tuple[list[Message], bool]:
        """Store drafts in one transaction; return (messages, created).

        With an idempotency key already used, nothing is stored and the first round's answer
        comes back with `created=False`. Keys live in their own table, for a day or for the
        retention if longer, so a scheduler restarted late in a long slot still gets the first
        answer after the messages themselves are gone. `before_commit` runs inside the
        transaction (the PostgreSQL bus sends NOTIFY there). A key first used with another
        `body_hash` raises `IdempotencyKeyReused`.

        `drafts` may be a `RoundWriter`: it is called inside the transaction, after the lock and
        the key check, and returns the drafts. That is where a round reads the simulation's
        state, advances it and writes it back (`hub/market.py`), so the state and the messages
        commit together, in id order, and a replayed key advances nothing.
        """
        with self._connect(write=True) as connection:
            if self.is_postgres:
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ROUND_LOCK_KEY)))
            self._check_identity(connection)
            if idempotency_key is not None:
                earlier = self._round_by_key(connection, idempotency_key, body_hash)
                if earlier is not None:
                    return earlier, False
            if callable(drafts):
                drafts = drafts(connection)
            now = utc_now()
            stored: list[Message] = []
            for draft in drafts:
                new_id = connection.execute(
                    messages_table.insert()
                    .values(
                        agent_id=draft.agent_id,
                        agent_name=draft.agent_name,
                        kind=draft.kind,
                        content=draft.content,
                        created_at=now,
                        meta=draft.meta,
                        details=draft.details,
                    )
                    .returning(messages_table.c.id)
                ).scalar_one()
                stored.append(
                    Message(
                        new_id,
                        draft.agent_id,
                        draft.agent_name,
                        draft.kind,
                        draft.content,
                        now,
                        draft.meta,
                        draft.details,
                    )
                )
            if idempotency_key is not None:
                response = dumps([message.to_dict(with_details=True) for message in stored])
                connection.execute(
                    rounds_table.insert().values(
                        idempotency_key=idempotency_key, response=response, created_at=now, body_hash=body_hash
                    )
                )
            if before_commit is not None:
                before_commit(connection, stored)
            return stored, True

    def find_round(self, idempotency_key: str, body_hash: str | None = None) -> list[Message] | None:
        """The first answer to an Idempotency-Key still remembered, or None; another body is a 422."""
        with self._connect() as connection:
            return self._round_by_key(connection, idempotency_key, body_hash)

    def _remembered_since(self) -> datetime:
        return utc_now() - max(self.retention, timedelta(seconds=IDEMPOTENCY_SECONDS))

    def _round_by_key(self, connection: Connection, key: str, body_hash: str | None) -> list[Message] | None:
        query = sa.select(rounds_table.c.response, rounds_table.c.body_hash).where(
            rounds_table.c.idempotency_key == key, rounds_table.c.created_at >= self._remembered_since()
        )
        row = connection.execute(query).one_or_none()
        if row is None:
            return None
        if body_hash is not None and row.body_hash is not None and row.body_hash != body_hash:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used with a different body; use a new key for a new request"
            )
        return [Message.from_dict(item) for item in json.loads(row.response)]

    def since(self, since_id: int, agent_ids: Sequence[str] | None = None, limit: int = 1000) -> list[Message]:
        """Retained messages with id > since_id, in id order."""
        query = (
            sa.select(messages_table)
            .where(messages_table.c.id > since_id, self._retained())
            .order_by(messages_table.c.id)
            .limit(limit)
        )
        if agent_ids:
            query = query.where(messages_table.c.agent_id.in_(list(agent_ids)))
        with self._connect() as connection:
            return [_row_to_message(row) for row in connection.execute(query)]

    def all_since(self, since_id: int, agent_ids: Sequence[str] | None = None) -> list[Message]:
        """Every retained message with id > since_id, read page by page; retention bounds the total."""
        found: list[Message] = []
        while True:
            page = self.since(since_id, agent_ids, PAGE_SIZE)
            found.extend(page)
            if len(page) < PAGE_SIZE:
                return found
            since_id = page[-1].id

    def latest(self, count: int) -> list[Message]:
        """The newest `count` retained messages, oldest first."""
        query = sa.select(messages_table).where(self._retained()).order_by(messages_table.c.id.desc()).limit(count)
        with self._connect() as connection:
            return [_row_to_message(row) for row in reversed(list(connection.execute(query)))]

    def bounds(self) -> Bounds:
        query = sa.select(sa.func.min(messages_table.c.id), sa.func.max(messages_table.c.id)).where(self._retained())
        with self._connect() as connection:
            earliest_id, last_id = connection.execute(query).one()
        return Bounds(earliest_id, last_id)

    def purge(self) -> int:
        """Delete expired messages (and forgotten idempotency keys); return how many messages."""
        with self._connect(write=True) as connection:
            result = connection.execute(sa.delete(messages_table).where(~self._retained()))
            connection.execute(sa.delete(rounds_table).where(rounds_table.c.created_at < self._remembered_since()))
            return int(result.rowcount or 0)

    def dispose(self) -> None:
        self.engine.dispose()
