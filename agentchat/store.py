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
    "WindowFloors",
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
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True),  # revision 0007: why the agent did it
    sa.Index("ix_agent_chat_messages_created_at", "created_at"),
    sa.Index("ix_agent_chat_messages_agent_id_id", "agent_id", "id"),
    sa.Index("ix_agent_chat_messages_kind_id", "kind", "id"),  # history by kind (revision 0006)
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
PURGE_BATCH = 500  # rows per delete transaction when history expires: the write lock is held briefly
ROUND_LOCK_KEY = 0x61676E74  # "agnt": the PostgreSQL advisory lock that orders inserts across hubs

# The write path's statements, built once: on SQLite, building a statement and its cache key each time
# cost more than running it (profiled, #25), and every round runs these. Values go as parameters.
_IDENTITY = sa.select(store_table.c.store_id).where(store_table.c.id == 1)
_INSERT_MESSAGE = messages_table.insert().returning(messages_table.c.id)
_INSERT_ROUND = rounds_table.insert()

RoundWriter = Callable[[Connection], Sequence[Draft]]  # runs inside `insert_round`'s transaction


@dataclass(frozen=True, slots=True)
class Bounds:
    """The oldest and newest ids of the live window (both None when the store holds no message).

    `missed_below`: the newest id the store holds *outside* the window (0 for none). A client whose
    position is below it missed a message no replay will bring: that, or a position below
    `earliest_id - 1` (messages deleted), is a gap.
    """

    earliest_id: int | None
    last_id: int | None
    missed_below: int = 0

    def gap(self, last_event_id: int) -> bool:
        """Whether a client at `last_event_id` missed messages the window no longer holds."""
        if last_event_id < self.missed_below:
            return True
        return self.earliest_id is not None and last_event_id < self.earliest_id - 1


@dataclass(frozen=True, slots=True)
class WindowFloors:
    """The live window as id floors: an agent's message is in it when its id >= the agent's floor.

    The window is the last `retention` (every id from `recent_from` on, the oldest message created
    within it) or each agent's latest `max_per_agent`, whichever holds more: an agent's floor is the
    lower of `recent_from` and the id of its `max_per_agent`-th newest message (its oldest when it
    has fewer). Every floor is the id of a message the store holds.
    """

    recent_from: int | None  # None: no message was created within the retention
    agents: dict[str, int]

    def floor(self, agent_id: str) -> int | None:
        return self.agents.get(agent_id)

    @property
    def earliest_id(self) -> int | None:
        return min(self.agents.values()) if self.agents else None


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
    found = connection.execute(_IDENTITY).scalar()
    if found is None:
        raise StoreUnavailable("database unavailable: the store has no identity row (agent_chat_store)")
    return str(found)


# Each agent's `:skip+1`-th newest id (or its oldest, with fewer), by a loose scan of the
# (agent_id, id) index: one index seek per agent, however long the history (both databases).
_AGENT_FLOORS = sa.text(
    """
    WITH RECURSIVE agents(agent_id) AS (
        SELECT MIN(agent_id) FROM agent_chat_messages
        UNION ALL
        SELECT (SELECT MIN(m.agent_id) FROM agent_chat_messages m WHERE m.agent_id > agents.agent_id)
        FROM agents WHERE agents.agent_id IS NOT NULL
    )
    SELECT agents.agent_id,
        COALESCE(
            (SELECT m.id FROM agent_chat_messages m WHERE m.agent_id = agents.agent_id
             ORDER BY m.id DESC LIMIT 1 OFFSET :skip),
            (SELECT MIN(m.id) FROM agent_chat_messages m WHERE m.agent_id = agents.agent_id)
        ) AS floor_id
    FROM agents WHERE agents.agent_id IS NOT NULL
    """
)


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
    """Insert, read the live window since an id, read history, and purge what history no longer keeps.

    Every live read (`since`, `latest`, `bounds`) serves the window (`WindowFloors`): the last
    `retention_seconds`, or each agent's latest `max_per_agent`, whichever holds more, so a page
    opened long after the last round still shows each agent's latest messages. Messages stay in
    the store `history_days` (for history and export); the purge deletes older ones, never one
    inside the window.
    """

    def __init__(
        self, engine: Engine, retention_seconds: float, max_per_agent: int = 20, history_days: float = 30
    ) -> None:
        self.engine = engine
        self.retention = timedelta(seconds=retention_seconds)
        self.max_per_agent = max_per_agent
        self.history = timedelta(days=history_days)
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

    def _recent_from(self, connection: Connection) -> int | None:
        """The oldest id created within the retention (None: none), from the created_at index."""
        cutoff = utc_now() - self.retention
        # `id + 0`: read through the created_at index (the recent rows only), not by walking the
        # primary key from the oldest message until one is recent, through the whole history.
        found = connection.execute(
            sa.select(sa.func.min(messages_table.c.id + 0)).where(messages_table.c.created_at >= cutoff)
        ).scalar()
        return None if found is None else int(found)

    def _floors(self, connection: Connection, recent_from: int | None = None) -> WindowFloors:
        """The window's floors now: one index lookup for the retention, one per agent."""
        if recent_from is None:
            recent_from = self._recent_from(connection)
        agents: dict[str, int] = {}
        for agent_id, floor_id in connection.execute(_AGENT_FLOORS, {"skip": self.max_per_agent - 1}):
            agents[agent_id] = int(floor_id) if recent_from is None else min(int(floor_id), recent_from)
        return WindowFloors(recent_from, agents)

    def window_floors(self) -> WindowFloors:
        with self._connect() as connection:
            return self._floors(connection)

    def _window_query(self, floors: WindowFloors, since_id: int, agent_ids: Sequence[str] | None) -> sa.Subquery | None:
        """The window's rows after `since_id` as a union of index range scans (None: nothing to read).

        The recent part is one range of ids; each agent's older latest messages are a range of
        the (agent_id, id) index. Parts are disjoint, so a union of them never repeats a row.
        """
        table = messages_table
        parts: list[sa.Select[Any]] = []
        recent_from = floors.recent_from
        # One lower bound per part (`id > max(...)`): given two, SQLite may range over the looser one,
        # `id > 0`, through the whole history.
        if recent_from is not None:
            recent = sa.select(table).where(table.c.id > max(since_id, recent_from - 1))
            if agent_ids:
                recent = recent.where(table.c.agent_id.in_(list(agent_ids)))
            parts.append(recent)
        for agent_id, floor_id in sorted(floors.agents.items()):
            if (agent_ids and agent_id not in agent_ids) or (recent_from is not None and floor_id >= recent_from):
                continue
            older = sa.select(table).where(table.c.agent_id == agent_id, table.c.id > max(since_id, floor_id - 1))
            if recent_from is not None:
                older = older.where(table.c.id < recent_from)
            parts.append(older)
        if not parts:
            return None
        return (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("live_window")

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
        state, advances it and writes it back (`market/round.py`), so the state and the messages
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
                    _INSERT_MESSAGE,
                    {
                        "agent_id": draft.agent_id,
                        "agent_name": draft.agent_name,
                        "kind": draft.kind,
                        "content": draft.content,
                        "created_at": now,
                        "meta": draft.meta,
                        "details": draft.details,
                    },
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
                    _INSERT_ROUND,
                    {
                        "idempotency_key": idempotency_key,
                        "response": response,
                        "created_at": now,
                        "body_hash": body_hash,
                    },
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
        """The live window's messages with id > since_id, in id order.

        A client already inside the recent part (a poll, a resume a few messages behind) reads the
        ids after its own: each of them is recent, so in the window, and no agent's floor is needed.
        """
        with self._connect() as connection:
            recent_from = self._recent_from(connection)
            if recent_from is not None and since_id >= recent_from - 1:
                query = sa.select(messages_table).where(messages_table.c.id > since_id)
                if agent_ids:
                    query = query.where(messages_table.c.agent_id.in_(list(agent_ids)))
                query = query.order_by(messages_table.c.id).limit(limit)
                return [_row_to_message(row) for row in connection.execute(query)]
            window = self._window_query(self._floors(connection, recent_from), since_id, agent_ids)
            if window is None:
                return []
            query = sa.select(window).order_by(window.c.id).limit(limit)
            return [_row_to_message(row) for row in connection.execute(query)]

    def all_since(self, since_id: int, agent_ids: Sequence[str] | None = None) -> list[Message]:
        """Every window message with id > since_id, read page by page; the window bounds the total."""
        found: list[Message] = []
        while True:
            page = self.since(since_id, agent_ids, PAGE_SIZE)
            found.extend(page)
            if len(page) < PAGE_SIZE:
                return found
            since_id = page[-1].id

    def latest(self, count: int) -> list[Message]:
        """The newest `count` messages the store holds (in the window or not), oldest first.

        The hub's frame window is filled from them: it is a cache of the store's newest messages
        and applies the window itself on each resume (`hub/window.py`).
        """
        query = sa.select(messages_table).order_by(messages_table.c.id.desc()).limit(count)
        with self._connect() as connection:
            return [_row_to_message(row) for row in reversed(list(connection.execute(query)))]

    def read_messages(self, query: sa.Select[Any]) -> list[Message]:
        """The messages a query over the messages table selects, in its order (history reads, `history.py`)."""
        with self._connect() as connection:
            return [_row_to_message(row) for row in connection.execute(query)]

    def bounds(self) -> Bounds:
        """The window's oldest and newest ids, and the newest id outside it (see `Bounds`)."""
        table = messages_table
        with self._connect() as connection:
            floors = self._floors(connection)
            # The newest id overall, and each agent's newest below its floor, in one round trip.
            parts = [sa.select(sa.literal(0).label("part"), sa.func.max(table.c.id).label("found"))]
            parts.extend(
                sa.select(sa.literal(1).label("part"), sa.func.max(table.c.id).label("found")).where(
                    table.c.agent_id == agent_id, table.c.id < floor_id
                )
                for agent_id, floor_id in floors.agents.items()
            )
            found = connection.execute(sa.union_all(*parts)).all()
        last_id = next(row.found for row in found if row.part == 0)
        missed_below = max((int(row.found or 0) for row in found if row.part == 1), default=0)
        return Bounds(floors.earliest_id, None if last_id is None else int(last_id), missed_below)

    def purge(self, batch: int = PURGE_BATCH) -> int:
        """Delete what history no longer keeps, `batch` rows a transaction; return how many messages.

        A message older than `history_days` goes unless it is in the window (an agent's latest
        messages stay however old). Each batch is its own short transaction, so a large purge
        (a month of messages at once) never holds the store's write lock for long. Forgotten
        idempotency keys go too.
        """
        cutoff = utc_now() - self.history
        removed = 0
        while True:
            with self._connect(write=True) as connection:
                floors = self._floors(connection)
                expired = sa.select(messages_table.c.id).where(messages_table.c.created_at < cutoff)
                kept = [
                    sa.and_(messages_table.c.agent_id == agent_id, messages_table.c.id >= floor_id)
                    for agent_id, floor_id in floors.agents.items()
                ]
                if kept:
                    expired = expired.where(~sa.or_(*kept))
                # Oldest first by the created_at index: a purge that finds nothing reads nothing.
                ids = list(connection.execute(expired.order_by(messages_table.c.created_at).limit(batch)).scalars())
                if ids:
                    connection.execute(sa.delete(messages_table).where(messages_table.c.id.in_(ids)))
                removed += len(ids)
            if len(ids) < batch:
                break
        with self._connect(write=True) as connection:
            connection.execute(sa.delete(rounds_table).where(rounds_table.c.created_at < self._remembered_since()))
        return removed

    def dispose(self) -> None:
        self.engine.dispose()
