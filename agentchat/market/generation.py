"""What decides a round for the market, and what it hands back.

`SharedMarket` (`round.py`) runs a round inside the store's transaction and needs something that
decides it from the simulation's state and phrases it: that interface is declared here, beside the
value it returns, so the market depends on no implementation. The offline and LLM generators
(`agentchat/generator/`) meet it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentchat.agents import Agent
from agentchat.market.prices import MarketSnapshot
from agentchat.market.state import SimulationState
from agentchat.message import Draft, Message

__all__ = ["Generator", "SimulatedRound"]


@dataclass(frozen=True, slots=True)
class SimulatedRound:
    """One round: a draft per agent (in the order asked), the bar they saw, and the state after it."""

    drafts: list[Draft]
    market: MarketSnapshot
    state: SimulationState


@runtime_checkable
class Generator(Protocol):
    """Decides a round from the simulation's state, then phrases it; the hub calls both from worker threads."""

    @property
    def phrases(self) -> bool:
        """True when `phrase` does work of its own (a model call), which the hub runs outside the store's lock."""
        ...

    def next_round(self, state: SimulationState, agents: Sequence[Agent], recent: Sequence[Message]) -> SimulatedRound:
        """The round after `state`: one draft per agent, in the order given, and the state it leaves.

        A function of its arguments (no hidden state, no clock), so deciding a round twice from the
        same state gives the same round. `recent` holds the latest stored messages (oldest first, up
        to about 30), so agents can answer each other.
        """
        ...

    def phrase(self, simulated: SimulatedRound, agents: Sequence[Agent], recent: Sequence[Message]) -> list[Draft]:
        """The round's drafts in their final words (the same meta), in the order given."""
        ...
