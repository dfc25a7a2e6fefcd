"""Fan-out buses; `create_bus` picks the backend from the store's URL."""

from __future__ import annotations

from agentchat.bus.base import Bus, Listener
from agentchat.bus.memory import MemoryBus
from agentchat.bus.postgres import PostgresBus
from agentchat.store import Store

__all__ = ["Bus", "Listener", "MemoryBus", "PostgresBus", "create_bus"]


def create_bus(store: Store, timeout_seconds: float = 5.0) -> Bus:
    """SQLite means one hub, so the in-process bus; PostgreSQL means LISTEN/NOTIFY across hubs.

    The PostgreSQL bus reads missed messages back from `store` after a reconnect.
    """
    if store.is_postgres:
        return PostgresBus(store, timeout_seconds)
    return MemoryBus()
