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
anything else (and the market row is read `FOR UPDATE` as well); on SQLite the read is a no-op
`UPDATE` of the market row that returns it (`RETURNING`), which takes the database's write lock as it
reads the state, so two writers can never both read round N and both write round N + 1.

A round reads what the round before it wrote, mostly on the same hub: the text of the market's state
and of each book as this process last wrote or read it is kept with its parsed value (`_ParsedRows`),
so an unchanged row is not parsed again, and the history entry of an agent whose book and marks did
not move is the one made before (`_HistoryEntries`). The history is pruned only once rounds older than the kept
ones can exist.
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
# SQLite: take the write lock and read the market row in one statement (RETURNING, SQLite 3.35+).
_TAKE_WRITE_LOCK_AND_READ = (
    sa.update(market_table).where(_THE_MARKET_ROW).values(round=market_table.c.round).returning(*market_table.c)
)
_READ_MARKET_FOR_UPDATE = sa.select(market_table).where(_THE_MARKET_ROW).with_for_update()
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


class _ParsedRows:
    """The market's state and each book as last written or read by this process, with their text.

    A round reads the state the previous round wrote, usually on this very hub: when a row's text is
    the one kept, its value is reused instead of parsed again (the market's state is ~6 KB of JSON,
    ~60 µs to parse, every round). Values are never changed in place (`Market.from_state` copies;
    books are frozen), so one value can serve every reader. Each entry is replaced whole, in one
    assignment, so a reader in another thread sees an old pair or a new one, never half of each.
    """

    def __init__(self) -> None:
        self.market: tuple[str, dict[str, Any]] | None = None
        self.books: dict[str, tuple[str, Book]] = {}

    def market_state(self, text: str) -> dict[str, Any]:
        kept = self.market
        if kept is not None and kept[0] == text:
            return kept[1]
        value: dict[str, Any] = json.loads(text)
        self.market = (text, value)
        return value

    def book(self, agent_id: str, text: str) -> Book:
        kept = self.books.get(agent_id)
        if kept is not None and kept[0] == text:
            return kept[1]
        book = Book.from_dict(json.loads(text))
        self.books[agent_id] = (text, book)
        return book

    def state(self, market_row: sa.Row[Any], book_rows: Sequence[sa.Row[Any]]) -> SimulationState:
        books = {row.agent_id: self.book(row.agent_id, row.book) for row in book_rows}
        market = self.market_state(market_row.state)
        return SimulationState(seed=int(market_row.seed), round=int(market_row.round), market=market, books=books)


class _HistoryEntries:
    """Each agent's history entry (its `BookReport` as JSON) as last made, with what it was made from.

    A report depends only on the book and the prices of the symbols it holds. Most agents sit out
    most rounds, and an agent without a position is marked at no price at all, so their entry is the
    one made the round before: it is reused rather than built and encoded again, every round, for
    every agent of the roster.
    """

    def __init__(self) -> None:
        self._made: dict[str, tuple[Book, tuple[float | None, ...], float, str]] = {}

    def entry(self, agent_id: str, book: Book, prices: dict[str, float]) -> tuple[float, str]:
        """The agent's equity and its entry's JSON, for `book` marked at `prices`."""
        marks = tuple(prices.get(symbol) for symbol in book.positions)
        made = self._made.get(agent_id)
        if made is not None and made[1] == marks and made[0] == book:
            return made[2], made[3]
        report = BookReport.of(agent_id, book, prices)
        entry = dumps(report.wire())
        self._made[agent_id] = (book, marks, report.equity, entry)
        return report.equity, entry


class SimulationStore:
    """Reads and writes the simulation's tables; see the module docstring for the locking."""

    def __init__(self, engine: Engine, kept_rounds: int = KEPT_ROUNDS) -> None:
        self.engine = engine
        self.kept_rounds = kept_rounds
        self.is_postgres = engine.dialect.name == "postgresql"
        self._parsed = _ParsedRows()
        self._entries = _HistoryEntries()

    # -- inside the round's transaction ---------------------------------------------------------

    def load_for_update(self, connection: Connection) -> SimulationState | None:
        """The stored state, read under the write lock (see the module docstring); None before round 1."""
        query = _READ_MARKET_FOR_UPDATE if self.is_postgres else _TAKE_WRITE_LOCK_AND_READ
        row = connection.execute(query).one_or_none()
        if row is None:
            return None
        return self._parsed.state(row, connection.execute(_READ_BOOKS).all())

    def save_round(
        self,
        connection: Connection,
        state: SimulationState,
        round_agents: Sequence[str],
        agent_ids: Iterable[str],
        now: datetime,
    ) -> None:
        """Write the state a round left, and its books for history: every agent of `agent_ids` and every book."""
        market = dict(state.market)
        market_text = _dumps(market)
        self._parsed.market = (market_text, market)
        market_values = {
            "seed": str(state.seed),
            "round": state.round,
            "state": market_text,
            "round_agents": _dumps(list(round_agents)),
            "updated_at": now,
        }
        updated = connection.execute(_UPDATE_MARKET, market_values)
        if not updated.rowcount:
            connection.execute(_INSERT_MARKET, {"id": MARKET_ROW, **market_values})
        for agent_id, book in state.books.items():
            book_text = _dumps(book.to_dict())
            self._parsed.books[agent_id] = (book_text, book)
            values = {"book": book_text, "round": state.round, "updated_at": now}
            updated = connection.execute(_UPDATE_BOOK, {"book_agent_id": agent_id, **values})
            if not updated.rowcount:
                connection.execute(_INSERT_BOOK, {"agent_id": agent_id, **values})
        prices = state.prices()
        everyone = sorted(set(agent_ids) | set(state.books))
        rows = []
        for agent_id in everyone:
            equity, entry = self._entries.entry(agent_id, state.book(agent_id), prices)
            rows.append(
                {"round": state.round, "agent_id": agent_id, "created_at": now, "equity": equity, "entry": entry}
            )
        if rows:
            connection.execute(_INSERT_HISTORY, rows)
        last_pruned = state.round - self.kept_rounds
        if last_pruned >= 0:  # rounds are numbered from 0: before that, there is nothing to prune
            connection.execute(_PRUNE_HISTORY, {"last_pruned": last_pruned})

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
                state = self._parsed.state(row, book_rows)
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
