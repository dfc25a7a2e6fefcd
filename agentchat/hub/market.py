"""One market for every hub: how a round reads, advances and writes the simulation in the store.

A hub holds no market of its own. `SharedMarket.prepare(agents, recent)` returns the round's
`RoundWriter`, which `Store.insert_round` calls inside its transaction, after the lock that orders
ids (the advisory lock on PostgreSQL, the write lock on SQLite): it reads the stored state
(`Ledger.load_for_update`), lets the generator decide the round from it, writes the state and the
round's books back, and returns the drafts. The state and the messages commit together or not at
all, so any number of hubs on one store make one market, a restart continues where it stopped, and
concurrent rounds queue on the lock instead of forking the market.

Deciding a round is fast and deterministic (`Generator.next_round`), so it is done under the lock.
Phrasing it with an LLM is slow, so `prepare` does that first, outside the lock, from the state as
it reads it then: inside the lock the round is decided again from the state as it is now, and each
agent's phrasing is kept only if the round still makes the very same draft (the same text, kind and
meta) for it. When another round came in between, the drafts differ and the offline text is used:
the model's words can never describe a trade the simulation did not make.

`recent` (what agents may answer) is taken once, before the round, and the same list is used by
both passes, so a phrasing is not thrown away because a message arrived meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anyio.to_thread
from sqlalchemy.engine import Connection

from agentchat.agents import Agent
from agentchat.generator import Generator, SimulationState
from agentchat.ledger import Ledger
from agentchat.message import Draft, Message, dumps, utc_now
from agentchat.store import RoundWriter

__all__ = ["SharedMarket"]

logger = logging.getLogger("agentchat.hub.market")

_DraftKey = tuple[str, str, str, str]


def _key(draft: Draft) -> _DraftKey:
    return draft.agent_id, draft.kind, draft.content, dumps(draft.meta)


class SharedMarket:
    """Builds each round's writer over the simulation in the store (see the module docstring)."""

    def __init__(self, generator: Generator, ledger: Ledger, roster: Sequence[Agent]) -> None:
        self.generator = generator
        self.ledger = ledger
        self.agent_ids = tuple(agent.id for agent in roster)

    async def prepare(self, agents: Sequence[Agent], recent: Sequence[Message]) -> RoundWriter:
        """The writer of one round for `agents`; with a model, the round is phrased here, before any lock."""
        agents, recent = tuple(agents), tuple(recent)
        fresh: SimulationState | None = None  # the market phrased from, when the store has none yet
        phrased: dict[_DraftKey, Draft] = {}
        if self.generator.phrases:
            stored = await anyio.to_thread.run_sync(self.ledger.current)
            start = stored.state if stored is not None else SimulationState.new()
            fresh = None if stored is not None else start
            draft_round = self.generator.next_round(start, agents, recent)
            words = await anyio.to_thread.run_sync(self.generator.phrase, draft_round, agents, recent)
            phrased = {_key(draft): said for draft, said in zip(draft_round.drafts, words, strict=True)}

        def write(connection: Connection) -> list[Draft]:
            state = self.ledger.load_for_update(connection) or fresh or SimulationState.new()
            simulated = self.generator.next_round(state, agents, recent)
            round_agents = [agent.id for agent in agents]
            self.ledger.save_round(connection, simulated.state, round_agents, self.agent_ids, utc_now())
            drafts = [phrased.get(_key(draft), draft) for draft in simulated.drafts]
            if phrased and any(_key(draft) not in phrased for draft in simulated.drafts):
                logger.info("round %d changed while it was phrased; the offline text is used", simulated.state.round)
            return drafts

        return write
