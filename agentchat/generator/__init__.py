"""Where agent messages come from: the `Generator` interface the hub calls, and the offline one.

`Generator` is defined here rather than in a module of its own so that the hub, the offline
generator and any other implementation (an LLM-backed one, a test double) depend only on this
package's public names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agentchat.agents import Agent
from agentchat.generator.llm import LlmGenerator
from agentchat.generator.offline import OfflineGenerator
from agentchat.message import Draft, Message

__all__ = ["Generator", "LlmGenerator", "OfflineGenerator"]


@runtime_checkable
class Generator(Protocol):
    """Writes one round of messages; called by the hub from a worker thread."""

    def generate_round(self, agents: Sequence[Agent], recent: Sequence[Message]) -> list[Draft]:
        """One Draft per agent, in the order given.

        `recent` holds the latest stored messages (oldest first, up to about 30), so agents can
        answer each other.
        """
        ...
