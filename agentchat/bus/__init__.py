"""Fan-out buses; `create_bus` picks the backend from the store's URL.

The PostgreSQL bus is imported only for a PostgreSQL store: it brings psycopg, which a hub on
SQLite never uses (about 50 ms of its start).
"""

from __future__ import annotations

from agentchat.bus.base import Bus, Listener
from agentchat.bus.memory import MemoryBus
from agentchat.store import Store

__all__ = ["Bus", "Listener", "MemoryBus", "create_bus"]


def create_bus(store: Store, timeout_seconds: float = 5.0) -> Bus:
    """SQLite means one hub, so the in-process bus; PostgreSQL means LISTEN/NOTIFY across hubs.

    The PostgreSQL bus reads missed messages back from `store` after a reconnect.
    """
    if store.is_postgres:
        from agentchat.bus.postgres import PostgresBus

        return PostgresBus(store, timeout_seconds)
    return MemoryBus()
