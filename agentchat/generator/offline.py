"""The built-in generator: one market bar per round, one message per agent, no network.

A round is a function (`next_round`): from the simulation's state before it, the agents asked and
the messages they may answer, it returns the drafts and the state after it. Nothing random is
carried between rounds: round N's bar draws from `bar_rng(seed, "market", N)` and the voices from
`bar_rng(seed, "voices", N)`, so the hub can keep the state in the store, and the market does not
change because an agent happened to write a longer message, or because another hub ran the round.

Every trade a writer proposes is booked here at the bar's price (`Book.filled`, the accounting the
API and an external agent's orders use too), and after the round every book is marked at the new
prices (`market/trading.py`: `close_round`).

Replies are decided here, not in the writers, because choosing *whom* to answer needs the feed
(`recent`), while *what* to say is the strategy's business.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from agentchat.agents import Agent
from agentchat.generator.voices import writer_for
from agentchat.generator.writers import Context, Post, ReplyTarget
from agentchat.market.books import Book, Fill
from agentchat.market.generation import SimulatedRound
from agentchat.market.prices import Market, MarketSnapshot, bar_rng
from agentchat.market.state import SimulationState
from agentchat.market.trading import close_round
from agentchat.message import Draft, Message

__all__ = ["OfflineGenerator"]

REPLY_PROBABILITY = 0.2  # per draft, when another agent's message is available to answer
REPLY_LOOKBACK = 12  # only the latest messages are worth answering


class OfflineGenerator:
    """Decides and writes each round from the simulation's state; the text is its own (no model)."""

    phrases = False  # `phrase` returns the drafts as they are: nothing to prepare outside the store's lock

    def next_round(self, state: SimulationState, agents: Sequence[Agent], recent: Sequence[Message]) -> SimulatedRound:
        """Advance `state` one bar and write one draft per agent, booking the trades they make."""
        number = state.round + 1
        simulated = Market.from_state(state.market)
        market = simulated.step()
        rng = bar_rng(state.seed, "voices", number)
        books = dict(state.books)
        drafts = []
        for agent in agents:
            book = books.get(agent.id) or Book()
            post = self._post(agent, book, market, recent, rng)
            if post.trade is not None:
                book, _ = book.filled(Fill(post.symbol, post.trade.signed_quantity, post.trade.price))
            books[agent.id] = book
            drafts.append(
                Draft(
                    agent_id=agent.id,
                    agent_name=agent.name,
                    kind=post.kind,
                    content=post.content,
                    meta=post.meta(),
                    details=post.details,
                )
            )
        marked = close_round(books, market.prices())
        after = SimulationState(seed=state.seed, round=number, market=simulated.state(), books=marked)
        return SimulatedRound(drafts, market, after)

    def phrase(self, simulated: SimulatedRound, agents: Sequence[Agent], recent: Sequence[Message]) -> list[Draft]:
        """The drafts as written: the offline voices are the text."""
        return simulated.drafts

    # One agent's message -------------------------------------------------------------------------

    def _post(
        self, agent: Agent, book: Book, market: MarketSnapshot, recent: Sequence[Message], rng: random.Random
    ) -> Post:
        context = Context(agent=agent, market=market, positions=dict(book.positions), rng=rng)
        writer = writer_for(agent.strategy)
        target = self._reply_target(agent, market, recent, rng)
        return writer.reply(context, target) if target else writer.write(context)

    @staticmethod
    def _reply_target(
        agent: Agent, market: MarketSnapshot, recent: Sequence[Message], rng: random.Random
    ) -> ReplyTarget | None:
        """Another agent's recent message to answer, about one time in five; never the agent's own."""
        candidates = [
            target
            for message in recent[-REPLY_LOOKBACK:]
            if message.agent_id != agent.id
            and (target := ReplyTarget.from_message(message, market.symbols)) is not None
        ]
        if not candidates or rng.random() >= REPLY_PROBABILITY:
            return None
        weights = range(1, len(candidates) + 1)  # newer messages are likelier to get an answer
        return rng.choices(candidates, weights=weights)[0]
