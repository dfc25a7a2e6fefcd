"""The built-in generator: one market bar per round, one message per agent, no network.

Everything random comes from one `random.Random(seed)`, split into a stream for the market and one
for the voices, so the same seed with the same calls gives the same rounds, and the market does not
change because an agent happened to write a longer message.

The hub calls `generate_round` from a worker thread, and may do so from two requests at once; one
lock around the round keeps the market, the books and the random streams consistent.

Replies are decided here, not in the writers, because choosing *whom* to answer needs the feed
(`recent`), while *what* to say is the strategy's business.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from agentchat.agents import Agent
from agentchat.generator.market import Market, MarketSnapshot, Position
from agentchat.generator.voices import writer_for
from agentchat.generator.writers import Context, Post, ReplyTarget, Trade
from agentchat.message import Draft, Message

__all__ = ["OfflineGenerator"]

REPLY_PROBABILITY = 0.2  # per draft, when another agent's message is available to answer
REPLY_LOOKBACK = 12  # only the latest messages are worth answering


@dataclass(slots=True)
class _Book:
    """One agent's positions and the P&L it has realized so far."""

    positions: dict[str, Position] = field(default_factory=dict)
    realized_pnl: float = 0.0

    def apply(self, symbol: str, trade: Trade) -> None:
        if trade.after.direction:
            self.positions[symbol] = trade.after
        else:
            self.positions.pop(symbol, None)
        self.realized_pnl += trade.realized_pnl


class OfflineGenerator:
    """Writes each agent's next message from a seeded market simulation and the agent's own book."""

    def __init__(self, seed: int | None = None) -> None:
        root = random.Random(seed)
        self._market = Market(root.getrandbits(64))
        self._rng = random.Random(root.getrandbits(64))
        self._books: dict[str, _Book] = {}
        self._lock = threading.Lock()

    def generate_round(self, agents: Sequence[Agent], recent: Sequence[Message]) -> list[Draft]:
        """Advance the market one bar and return one draft per agent, in the order given."""
        with self._lock:
            market = self._market.step()
            return [self._draft(agent, market, recent) for agent in agents]

    def snapshot(self) -> MarketSnapshot:
        """The market as the latest round saw it."""
        with self._lock:
            return self._market.snapshot

    def positions(self, agent_id: str) -> dict[str, Position]:
        """The agent's open positions by symbol (a copy; flat symbols are absent)."""
        with self._lock:
            book = self._books.get(agent_id)
            return dict(book.positions) if book else {}

    def realized_pnl(self, agent_id: str) -> float:
        with self._lock:
            book = self._books.get(agent_id)
            return book.realized_pnl if book else 0.0

    def _draft(self, agent: Agent, market: MarketSnapshot, recent: Sequence[Message]) -> Draft:
        book = self._books.setdefault(agent.id, _Book())
        context = Context(agent=agent, market=market, positions=dict(book.positions), rng=self._rng)
        writer = writer_for(agent.strategy)
        target = self._reply_target(agent, market, recent)
        post: Post = writer.reply(context, target) if target else writer.write(context)
        if post.trade is not None:
            book.apply(post.symbol, post.trade)
        return Draft(
            agent_id=agent.id,
            agent_name=agent.name,
            kind=post.kind,
            content=post.content,
            meta=post.meta(),
        )

    def _reply_target(self, agent: Agent, market: MarketSnapshot, recent: Sequence[Message]) -> ReplyTarget | None:
        """Another agent's recent message to answer, about one time in five; never the agent's own."""
        candidates = [
            target
            for message in recent[-REPLY_LOOKBACK:]
            if message.agent_id != agent.id
            and (target := ReplyTarget.from_message(message, market.symbols)) is not None
        ]
        if not candidates or self._rng.random() >= REPLY_PROBABILITY:
            return None
        weights = range(1, len(candidates) + 1)  # newer messages are likelier to get an answer
        return self._rng.choices(candidates, weights=weights)[0]
