"""The whole simulation as a value: the market, every agent's book, and how many rounds made them.

`SimulationState` is what the store keeps (`storage.py`) and what a round reads and returns
(`Generator.next_round`). It holds no random generator: each round's randomness is derived from
`seed` and the round's number (`prices.bar_rng`), so the state after round N is a function of
the state before it, the agents asked and the messages they could answer, wherever it is computed.
`to_dict()` is plain JSON values, and floats survive JSON exactly, so a state read back from the
store continues exactly where it was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentchat.market.books import Book
from agentchat.market.prices import Market, MarketSnapshot

__all__ = ["SimulationState"]


@dataclass(frozen=True, slots=True)
class SimulationState:
    """The market's state (`Market.state()`), the books by agent id, and the rounds played so far."""

    seed: int
    round: int
    market: Mapping[str, Any]
    books: Mapping[str, Book] = field(default_factory=dict)

    @classmethod
    def new(cls, seed: int | None = None) -> SimulationState:
        """A market before its first round (a random seed unless one is given) and no books yet."""
        market = Market(seed)
        return cls(seed=market.seed, round=0, market=market.state())

    def book(self, agent_id: str) -> Book:
        """The agent's book; a fresh one (cash only) for an agent that never traded."""
        return self.books.get(agent_id) or Book()

    def snapshot(self) -> MarketSnapshot:
        """The market as the latest round left it."""
        return Market.from_state(self.market).snapshot

    def prices(self) -> dict[str, float]:
        """Each instrument's price as the latest round left it (`snapshot().prices()`, without the quotes)."""
        return Market.prices_of(self.market)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "round": self.round,
            "market": dict(self.market),
            "books": {agent_id: book.to_dict() for agent_id, book in sorted(self.books.items())},
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SimulationState:
        return cls(
            seed=int(values["seed"]),
            round=int(values["round"]),
            market=dict(values["market"]),
            books={str(agent_id): Book.from_dict(book) for agent_id, book in dict(values["books"]).items()},
        )
