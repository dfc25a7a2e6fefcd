"""The in-process bus: the embedded default, for a single hub."""

from __future__ import annotations

from collections.abc import Sequence

from agentchat.bus.base import Bus
from agentchat.message import Message

__all__ = ["MemoryBus"]


class MemoryBus(Bus):
    """Delivers right after the commit, on the publishing request's own event loop."""

    async def publish(self, messages: Sequence[Message]) -> None:
        self._deliver(messages)
