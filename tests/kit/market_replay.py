"""The market from outside the hub, for the tests and the benches: a replay of trade messages and a
simulation in memory.

- `fill_from_meta` reads a fill back from a message's `meta` (`symbol`, `price`, signed `quantity`)
  and `replay` rebuilds a book from such fills: a check, from the messages alone, of the books the
  hub reports. Marks and drawdown need the prices of every round and are not part of a replay.
- `InMemorySimulation` plays rounds of the offline generator on a state it keeps itself (no store),
  so the voices and the books can be tested round after round; its lock makes rounds from several
  threads each advance that state once.
- `book_entry` and `ranked_entries` are `BookReport`'s wire form, as the API and the book frames
  send it, for tests that compare dicts read from the hub.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentchat.agents import Agent
from agentchat.generator import OfflineGenerator
from agentchat.market.books import Book, Fill, Position
from agentchat.market.prices import MarketSnapshot
from agentchat.market.report import BookReport, rank
from agentchat.market.state import SimulationState
from agentchat.message import Draft, Message

__all__ = ["InMemorySimulation", "book_entry", "fill_from_meta", "ranked_entries", "replay"]


def fill_from_meta(meta: Mapping[str, Any]) -> Fill | None:
    """The fill a message's `meta` announces, or None when the message traded nothing."""
    quantity, price, symbol = meta.get("quantity"), meta.get("price"), meta.get("symbol")
    if not isinstance(quantity, int | float) or not isinstance(price, int | float) or not isinstance(symbol, str):
        return None
    if quantity == 0:
        return None
    return Fill(symbol, float(quantity), float(price))


def replay(book: Book, fills: Iterable[Fill]) -> Book:
    """`book` after each of `fills`, in order."""
    for fill in fills:
        book, _ = book.filled(fill)
    return book


def book_entry(agent_id: str, book: Book, prices: Mapping[str, float]) -> dict[str, Any]:
    """The agent's book as `GET /api/agents/performance` shows it."""
    return BookReport.of(agent_id, book, prices).wire()


def ranked_entries(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Entries as the hub ranks them: highest equity first, equal equity in agent id order."""
    return [report.wire() for report in rank(BookReport.model_validate(entry) for entry in entries)]


class InMemorySimulation:
    """The offline generator's rounds on a state kept in memory (see the module docstring)."""

    def __init__(self, seed: int | None = None) -> None:
        self.generator = OfflineGenerator()
        self._state = SimulationState.new(seed)
        self._lock = threading.Lock()

    def generate_round(self, agents: Sequence[Agent], recent: Sequence[Message]) -> list[Draft]:
        """Advance the state one round and return one draft per agent, in the order given."""
        with self._lock:
            simulated = self.generator.next_round(self._state, agents, recent)
            self._state = simulated.state
            return simulated.drafts

    @property
    def state(self) -> SimulationState:
        with self._lock:
            return self._state

    def snapshot(self) -> MarketSnapshot:
        """The market as the latest round saw it."""
        return self.state.snapshot()

    def positions(self, agent_id: str) -> dict[str, Position]:
        """The agent's open positions by symbol (a copy; flat symbols are absent)."""
        return dict(self.state.book(agent_id).positions)

    def realized_pnl(self, agent_id: str) -> float:
        return self.state.book(agent_id).realized_pnl
