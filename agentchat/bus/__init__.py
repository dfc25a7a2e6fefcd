"""Fan-out buses; `create_bus` picks the backend from the store's URL."""

from __future__ import annotations

from agentchat.bus.base import Bus, Listener
from agentchat.bus.memory import MemoryBus

__all__ = ["Bus", "Listener", "MemoryBus", "create_bus"]


def create_bus(database_url: str) -> Bus:
    """SQLite means one hub, so the in-process bus; PostgreSQL gets LISTEN/NOTIFY once available."""
    return MemoryBus()
