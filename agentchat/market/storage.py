"""The simulation on disk: the market's state, each agent's book, and each round's books for history.

Three tables, created by migration 0005:

- `agent_chat_market`: one row (id 1): the seed, the round count and the market's state (JSON text),
  the agents of the latest round and when it was played.
- `agent_chat_books`: one row per agent: its book (JSON text: cash, positions at average price,
  realized P&L, trade counts, peak equity, deepest drawdown).
- `agent_chat_book_history`: per round and agent, the equity and the agent's `BookReport` (as
  `GET /api/agents/performance` shows it, `report.py`). This feeds the equity curves (`equity`) and the `book`
  frame every hub sends for a round (`rounds_after`). It is not cut by the message retention; it
  keeps the latest `KEPT_ROUNDS` rounds (30 days of 15-minute rounds), pruned as each round is
  written. The drawdown in a book covers its whole life, whatever the history still holds.

JSON is kept as text, written and read by Python's `json`, so every float comes back bit for bit
and a state read back continues the same series.

A round is read, advanced and written inside the store's insert transaction (`Store.insert_round`
calls the round's writer there), under the lock that already orders message ids:
`load_for_update` is the read. On PostgreSQL that transaction holds the advisory lock taken before
anything else (and the market row is read `FOR UPDATE` as well); on SQLite the read starts with a
no-op `UPDATE` of the market row, which takes the database's write lock before the state is read,
so two writers can never both read round N and both write round N + 1.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from agentchat.errors import StoreUnavailable
from agentchat.market.books import Book
from agentchat.market.report import BookReport, rank
from agentchat.market.state import SimulationState
from agentchat.message import dumps
from agentchat.store import database_error_reason, metadata

__all__ = [
    "KEPT_ROUNDS",
    "BookRound",
    "EquityPoint",
    "SimulationStore",
    "StoredSimulation",
    "book_history_table",
    "books_table",
    "market_table",
]

KEPT_ROUNDS = 2880  # rounds of book history kept: 30 days at the default 15-minute schedule
MARKET_ROW = 1
CONSISTENT_READ_ATTEMPTS = 5

market_table = sa.Table(
    "agent_chat_market",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seed", sa.String(40), nullable=False),
    sa.Column("round", sa.BigInteger(), nullable=False),
    sa.Column("state", sa.Text(), nullable=False),
    sa.Column("round_agents", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

books_table = sa.Table(
    "agent_chat_books",
    metadata,
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("book", sa.Text(), nullable=False),
    sa.Column("round", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

book_history_table = sa.Table(
    "agent_chat_book_history",
    metadata,
    sa.Column("round", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("equity", sa.Float(), nullable=False),
    sa.Column("entry", sa.Text(), nullable=False),
    sa.Index("ix_agent_chat_book_history_agent_id_round", "agent_id", "round"),
)

# A round's statements, built once: building a statement and its cache key costs more than running it
# on SQLite (profiled, #25), and every round runs these. Values go as parameters.
_THE_MARKET_ROW = market_table.c.id == MARKET_ROW
_TAKE_WRITE_LOCK = sa.update(market_table).where(_THE_MARKET_ROW).values(round=market_table.c.round)
_READ_MARKET = sa.select(market_table).where(_THE_MARKET_ROW)
_READ_MARKET_FOR_UPDATE = _READ_MARKET.with_for_update()
_READ_BOOKS = sa.select(books_table)
_UPDATE_MARKET = sa.update(market_table).where(_THE_MARKET_ROW)
_INSERT_MARKET = sa.insert(market_table)
_UPDATE_BOOK = sa.update(books_table).where(books_table.c.agent_id == sa.bindparam("book_agent_id"))
_INSERT_BOOK = sa.insert(books_table)
_INSERT_HISTORY = sa.insert(book_history_table)
_PRUNE_HISTORY = sa.delete(book_history_table).where(book_history_table.c.round <= sa.bindparam("last_pruned"))


@dataclass(frozen=True, slots=True)
class StoredSimulation:
    """The state as the latest round left it, which agents that round asked, and when it was played."""

    state: SimulationState
    round_agents: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EquityPoint:
    round: int
    at: datetime
    equity: float


@dataclass(frozen=True, slots=True)
class BookRound:
    """One round's books, ranked: what its `event: book` frame carries."""

    round: int
    at: datetime
    entries: list[BookReport]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone; we write UTC


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _state(market_row: sa.Row[Any], book_rows: Sequence[sa.Row[Any]]) -> SimulationState:
    books = {row.agent_id: Book.from_dict(json.loads(row.book)) for row in book_rows}
    return SimulationState(
        seed=int(market_row.seed), round=int(market_row.round), market=json.loads(market_row.state), books=books
    )


class SimulationStore:
    """Reads and writes the simulation's tables; see the module docstring for the locking."""

    def __init__(self, engine: Engine, kept_rounds: int = KEPT_ROUNDS) -> None:
        self.engine = engine
        self.kept_rounds = kept_rounds
        self.is_postgres = engine.dialect.name == "postgresql"

    # -- inside the round's transaction ---------------------------------------------------------

    def load_for_update(self, connection: Connection) -> SimulationState | None:
        """The stored state, read under the write lock (see the module docstring); None before round 1."""
        if self.is_postgres:
            query = _READ_MARKET_FOR_UPDATE
        else:
            query = _READ_MARKET
            connection.execute(_TAKE_WRITE_LOCK)
        row = connection.execute(query).one_or_none()
        if row is None:
            return None
        return _state(row, connection.execute(_READ_BOOKS).all())

    def save_round(
        self,
        connection: Connection,
        state: SimulationState,
        round_agents: Sequence[str],
        agent_ids: Iterable[str],
        now: datetime,
    ) -> None:
        """Write the state a round left, and its books for history: every agent of `agent_ids` and every book."""
        market_values = {
            "seed": str(state.seed),
            "round": state.round,
            "state": _dumps(dict(state.market)),
            "round_agents": _dumps(list(round_agents)),
            "updated_at": now,
        }
        updated = connection.execute(_UPDATE_MARKET, market_values)
        if not updated.rowcount:
            connection.execute(_INSERT_MARKET, {"id": MARKET_ROW, **market_values})
        for agent_id, book in state.books.items():
            values = {"book": _dumps(book.to_dict()), "round": state.round, "updated_at": now}
            updated = connection.execute(_UPDATE_BOOK, {"book_agent_id": agent_id, **values})
            if not updated.rowcount:
                connection.execute(_INSERT_BOOK, {"agent_id": agent_id, **values})
        prices = state.prices()
        everyone = sorted(set(agent_ids) | set(state.books))
        rows = []
        for agent_id in everyone:
            report = BookReport.of(agent_id, state.book(agent_id), prices)
            rows.append(
                {
                    "round": state.round,
                    "agent_id": agent_id,
                    "created_at": now,
                    "equity": report.equity,
                    "entry": dumps(report.wire()),
                }
            )
        if rows:
            connection.execute(_INSERT_HISTORY, rows)
        connection.execute(_PRUNE_HISTORY, {"last_pruned": state.round - self.kept_rounds})

    def save_fill(
        self,
        connection: Connection,
        state: SimulationState,
        agent_id: str | None,
        agent_ids: Iterable[str],
        now: datetime,
    ) -> None:
        """Write an external agent's book after a fill, between rounds (inside the publish transaction).

        The round does not move: the market row is written only when there is none yet (a fill
        before the first round starts the market at round 0), the agent's book is written, and the
        current round's book history is brought up to date for every agent, so the `book` frame and
        the equity curve after the fill show it. Without `agent_id` it only starts the market.
        """
        exists = connection.execute(
            sa.select(market_table.c.id).where(market_table.c.id == MARKET_ROW)
        ).scalar_one_or_none()
        if exists is None:
            connection.execute(
                sa.insert(market_table).values(
                    id=MARKET_ROW,
                    seed=str(state.seed),
                    round=state.round,
                    state=_dumps(dict(state.market)),
                    round_agents=_dumps([]),
                    updated_at=now,
                )
            )
        if agent_id is not None:
            values = {"book": _dumps(state.book(agent_id).to_dict()), "round": state.round, "updated_at": now}
            book_row = sa.update(books_table).where(books_table.c.agent_id == agent_id).values(**values)
            if not connection.execute(book_row).rowcount:
                connection.execute(sa.insert(books_table).values(agent_id=agent_id, **values))
        prices = state.prices()
        history = book_history_table.c
        for each in sorted(set(agent_ids) | set(state.books)):
            report = BookReport.of(each, state.book(each), prices)
            row = {"created_at": now, "equity": report.equity, "entry": dumps(report.wire())}
            updated = connection.execute(
                sa.update(book_history_table)
                .where(history.round == state.round, history.agent_id == each)
                .values(**row)
            )
            if not updated.rowcount:
                connection.execute(sa.insert(book_history_table).values(round=state.round, agent_id=each, **row))

    # -- reads ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"database unavailable: {database_error_reason(exc)}") from exc

    def current(self) -> StoredSimulation | None:
        """The simulation as the latest round left it; None before the first round.

        Read without the round lock, so a round may commit between reading the market row and the
        books: a book newer than the market row means that happened, and the read starts again.
        """
        for _ in range(CONSISTENT_READ_ATTEMPTS):
            with self._connect() as connection:
                row = connection.execute(sa.select(market_table).where(market_table.c.id == MARKET_ROW)).one_or_none()
                if row is None:
                    return None
                book_rows = connection.execute(sa.select(books_table)).all()
            if all(book.round <= row.round for book in book_rows):
                state = _state(row, book_rows)
                return StoredSimulation(state, tuple(json.loads(row.round_agents)), _utc(row.updated_at))
        raise StoreUnavailable("the simulation kept changing while it was read; try again")

    def latest_round(self) -> int:
        """The number of the latest round played (0 before the first)."""
        with self._connect() as connection:
            number = connection.execute(
                sa.select(market_table.c.round).where(market_table.c.id == MARKET_ROW)
            ).scalar_one_or_none()
        return int(number or 0)

    def equity(self, agent_id: str, since: datetime | None = None) -> list[EquityPoint]:
        """The agent's equity after each kept round played after `since` (all kept rounds without it), oldest first."""
        history = book_history_table.c
        query = sa.select(history.round, history.created_at, history.equity).where(history.agent_id == agent_id)
        if since is not None:
            query = query.where(history.created_at > since)
        with self._connect() as connection:
            rows = connection.execute(query.order_by(history.round)).all()
        return [EquityPoint(int(row.round), _utc(row.created_at), float(row.equity)) for row in rows]

    def rounds_after(self, round_number: int | None, limit: int) -> list[BookRound]:
        """Each kept round after `round_number` (the latest `limit` of them), oldest first; None: the latest only."""
        history = book_history_table.c
        with self._connect() as connection:
            newest = connection.execute(sa.select(sa.func.max(history.round))).scalar_one_or_none()
            if newest is None:
                return []
            first = max(newest - limit + 1, (round_number if round_number is not None else newest - 1) + 1)
            rows = connection.execute(
                sa.select(history.round, history.created_at, history.entry)
                .where(history.round >= first)
                .order_by(history.round, history.agent_id)
            ).all()
        rounds: dict[int, BookRound] = {}
        for row in rows:
            book_round = rounds.setdefault(int(row.round), BookRound(int(row.round), _utc(row.created_at), []))
            book_round.entries.append(BookReport.model_validate(json.loads(row.entry)))
        return [BookRound(r.round, r.at, rank(r.entries)) for r in rounds.values()]
