"""One market for every hub: how a round reads, advances and writes the simulation in the store.

A hub holds no market of its own. `SharedMarket.prepare(agents, recent)` returns the round's
`RoundWriter`, which `Store.insert_round` calls inside its transaction, after the lock that orders
ids (the advisory lock on PostgreSQL, the write lock on SQLite): it reads the stored state
(`SimulationStore.load_for_update`), lets the generator decide the round from it, writes the state
and the round's books back, and returns the drafts. The state and the messages commit together or
not at all, so any number of hubs on one store make one market, a restart continues where it
stopped, and concurrent rounds queue on the lock instead of forking the market.

Deciding a round is fast and deterministic (`Generator.next_round`), so it is done under the lock.
Phrasing it with an LLM is slow, so `prepare` does that first, outside the lock, from the state as
it reads it then: inside the lock the round is decided again from the state as it is now, and each
agent's phrasing is kept only if the round still makes the very same draft (the same text, kind and
meta) for it. When another round came in between, the drafts differ and the offline text is used:
the model's words can never describe a trade the simulation did not make.

`recent` (what agents may answer) is taken once, before the round, and the same list is used by
both passes, so a phrasing is not thrown away because a message arrived meanwhile.

With a `Decider` (`AGENTCHAT_LLM_DECIDES=true`: the hub's `ModelDecider`, `hub/decisions.py`) the
model decides instead of phrasing, with the same two passes: it is asked before the lock, from the
bar the round will trade at, and under the lock each agent's checked decision replaces the engine's
draft and fill only if the round is still that bar and the book can hold it (`apply_decisions`).
`Decider` and `Decision` are protocols here (the hub's `PublishRequest` is a `Decision`), so the
market imports nothing of the hub that builds them.

A model has capacity of its own. Phrasing (and deciding) runs in worker threads of a limiter of its own
(`MODEL_THREADS`), never in the pool every store read (and `/healthz`) uses: a model that hangs
holds those threads, not the hub's reads. And at most `MAX_ROUNDS_AT_MODEL` rounds wait for the
model at once; a round past that is written by the offline writer at once (and the generator's
health says the model is busy), rather than queueing behind a model that does not answer.
Every stored draft says who wrote it: `meta.writer` is `"llm"` or `"offline"`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
from sqlalchemy.engine import Connection

from agentchat.agents import Agent
from agentchat.errors import BadRequest
from agentchat.market.books import Book
from agentchat.market.generation import Generator, SimulatedRound
from agentchat.market.prices import MarketSnapshot
from agentchat.market.state import SimulationState
from agentchat.market.storage import SimulationStore
from agentchat.market.trading import Order, execute
from agentchat.message import Draft, Message, MessageKind, dumps, utc_now
from agentchat.store import RoundWriter

__all__ = ["MAX_ROUNDS_AT_MODEL", "MODEL_THREADS", "Decider", "Decision", "FailureReport", "SharedMarket"]

logger = logging.getLogger("agentchat.market.round")


@runtime_checkable
class FailureReport(Protocol):
    """A generator's `health`, told when a round cannot wait for the model (`generator/health.py`'s `WriterHealth`)."""

    def failed(self, reason: str) -> None: ...


_DraftKey = tuple[str, str, str, str]

MODEL_THREADS = 4  # rounds phrased at once (each round's calls run concurrently inside its thread)
MAX_ROUNDS_AT_MODEL = 8  # rounds waiting for the model at once, phrased or queued for a thread


class Decision(Protocol):
    """One agent's decision as a round uses it: the message it writes and the order it makes, if any."""

    @property
    def kind(self) -> MessageKind: ...

    @property
    def content(self) -> str: ...

    @property
    def order(self) -> Order | None: ...

    @property
    def details(self) -> dict[str, Any] | None: ...


class Decider(Protocol):
    """Decides each agent's trade for a bar (the hub's `ModelDecider`); a round falls back to the engine's."""

    def decide(
        self, agents: Sequence[Agent], market: MarketSnapshot, books: Mapping[str, Book]
    ) -> Mapping[str, Decision]: ...

    def rejected(self, agent: Agent, reason: str) -> None:
        """A decision not used: the engine decides for `agent` this round."""
        ...


def _key(draft: Draft) -> _DraftKey:
    return draft.agent_id, draft.kind, draft.content, dumps(draft.meta)


class SharedMarket:
    """Builds each round's writer over the simulation in the store (see the module docstring)."""

    def __init__(
        self,
        generator: Generator,
        simulation_store: SimulationStore,
        roster: Sequence[Agent],
        decider: Decider | None = None,
    ) -> None:
        self.generator = generator
        self.simulation_store = simulation_store
        self.agent_ids = tuple(agent.id for agent in roster)
        self.decider = decider
        self.rounds_at_model = 0
        self._model_threads: anyio.CapacityLimiter | None = None  # made in the event loop, on first use

    def _model_limiter(self) -> anyio.CapacityLimiter:
        if self._model_threads is None:
            self._model_threads = anyio.CapacityLimiter(MODEL_THREADS)
        return self._model_threads

    async def _phrase(
        self, draft_round: SimulatedRound, agents: Sequence[Agent], recent: Sequence[Message]
    ) -> list[Draft] | None:
        """The model's words for the round, or None when too many rounds already wait for it."""
        if self.rounds_at_model >= MAX_ROUNDS_AT_MODEL:
            reason = f"the model is busy: {self.rounds_at_model} rounds already wait for it"
            health = getattr(self.generator, "health", None)
            if isinstance(health, FailureReport):
                health.failed(reason)
            logger.warning("%s; this round uses the offline text", reason)
            return None
        self.rounds_at_model += 1
        try:
            return await anyio.to_thread.run_sync(
                self.generator.phrase, draft_round, agents, recent, limiter=self._model_limiter()
            )
        finally:
            self.rounds_at_model -= 1

    async def _decide(
        self, decider: Decider, agents: Sequence[Agent], bar: MarketSnapshot, books: Mapping[str, Book]
    ) -> Mapping[str, Decision]:
        """The model's checked decisions, in the model's own threads; none (the engine decides) when too
        many rounds already wait for it."""
        if self.rounds_at_model >= MAX_ROUNDS_AT_MODEL:
            logger.warning("the model is busy: %d rounds already wait for it; the engine decides", self.rounds_at_model)
            return {}
        self.rounds_at_model += 1
        try:
            return await anyio.to_thread.run_sync(decider.decide, agents, bar, books, limiter=self._model_limiter())
        finally:
            self.rounds_at_model -= 1

    async def prepare(self, agents: Sequence[Agent], recent: Sequence[Message]) -> RoundWriter:
        """The writer of one round for `agents`; with a model, the round is phrased here, before any lock."""
        agents, recent = tuple(agents), tuple(recent)
        fresh: SimulationState | None = None  # the market phrased from, when the store has none yet
        phrased: dict[_DraftKey, Draft] = {}
        decided: Mapping[str, Decision] = {}
        decided_at: tuple[int, int] | None = None  # (seed, round) of the state the model decided from
        if self.decider is not None:
            stored = await anyio.to_thread.run_sync(self.simulation_store.current)
            start = stored.state if stored is not None else SimulationState.new()
            fresh = None if stored is not None else start
            bar = self.generator.next_round(start, agents, recent).market
            decided = await self._decide(self.decider, agents, bar, start.books)
            decided_at = (start.seed, start.round)
        elif self.generator.phrases:
            stored = await anyio.to_thread.run_sync(self.simulation_store.current)
            start = stored.state if stored is not None else SimulationState.new()
            fresh = None if stored is not None else start
            draft_round = self.generator.next_round(start, agents, recent)
            words = await self._phrase(draft_round, agents, recent)
            if words is not None:
                phrased = {_key(draft): said for draft, said in zip(draft_round.drafts, words, strict=True)}

        def write(connection: Connection) -> list[Draft]:
            state = self.simulation_store.load_for_update(connection) or fresh or SimulationState.new()
            simulated = self.generator.next_round(state, agents, recent)
            if decided:
                simulated = self.apply_decisions(state, simulated, agents, decided, decided_at)
            round_agents = [agent.id for agent in agents]
            self.simulation_store.save_round(connection, simulated.state, round_agents, self.agent_ids, utc_now())
            if phrased:
                drafts = [_with_writer(phrased.get(_key(draft), draft)) for draft in simulated.drafts]
            else:  # nothing phrased: no draft's key (its meta as JSON) needs building
                drafts = [_with_writer(draft) for draft in simulated.drafts]
            if phrased and any(_key(draft) not in phrased for draft in simulated.drafts):
                logger.info("round %d changed while it was phrased; the offline text is used", simulated.state.round)
            return drafts

        return write

    def apply_decisions(
        self,
        before: SimulationState,
        simulated: SimulatedRound,
        agents: Sequence[Agent],
        decided: Mapping[str, Decision],
        decided_at: tuple[int, int] | None,
    ) -> SimulatedRound:
        """The round with each valid model decision in place of the engine's (under the lock)."""
        assert self.decider is not None
        if decided_at != (before.seed, before.round):
            for agent in agents:
                if agent.id in decided:
                    self.decider.rejected(agent, "another round came in while the model decided")
            return simulated
        prices = simulated.market.prices()
        drafts = list(simulated.drafts)
        books = dict(simulated.state.books)
        for index, agent in enumerate(agents):
            request = decided.get(agent.id)
            if request is None:
                continue
            book = before.book(agent.id)
            meta: dict[str, Any] = {"symbol": None, "side": None, "price": None, "confidence": None, "reply_to": None}
            meta["writer"] = "llm"  # the model decided and wrote it
            if request.order is not None:
                try:
                    book, trade = execute(book, request.order, prices)
                except BadRequest as error:
                    self.decider.rejected(agent, error.detail)
                    continue
                meta.update(trade)
            books[agent.id] = book.marked(prices)
            drafts[index] = Draft(agent.id, agent.name, request.kind, request.content, meta, request.details)
        state = dataclasses.replace(simulated.state, books=books)
        return SimulatedRound(drafts, simulated.market, state)


def _with_writer(draft: Draft) -> Draft:
    """`meta.writer`: what the model wrote says `llm` already; everything else is the offline writer's."""
    if "writer" in draft.meta:
        return draft
    return dataclasses.replace(draft, meta={**draft.meta, "writer": "offline"})
