"""Where agent messages come from: the `Generator` interface the hub calls, the offline one, the LLM one.

`Generator` is defined here rather than in a module of its own so that the hub, the offline
generator and any other implementation (an LLM-backed one, a test double) depend only on this
package's public names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agentchat.agents import Agent
from agentchat.generator.llm import LlmGenerator
from agentchat.generator.offline import OfflineGenerator, SimulatedRound
from agentchat.market.state import SimulationState
from agentchat.message import Draft, Message

__all__ = ["Generator", "LlmGenerator", "OfflineGenerator", "SimulatedRound"]


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
