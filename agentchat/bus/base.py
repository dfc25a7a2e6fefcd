"""The fan-out bus: how a stored message reaches every hub's live streams.

One interface, one file per backend (`memory.py` for one hub, `postgres.py` for several
hubs on one PostgreSQL). The bus knows nothing of sockets: it hands committed messages,
in id order, to its listeners (in practice one per hub, the fan-out), on the event loop.

The hub drives it in two steps around the store's transaction:
`before_commit(connection, messages)` runs inside the insert transaction (a PostgreSQL
bus sends NOTIFY there so that only committed messages are announced), and
`publish(messages)` runs after the commit (the in-process bus delivers there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Connection

from agentchat.message import Message

Listener = Callable[[Sequence[Message]], None]


class Bus(ABC):
    """Delivers committed messages to listeners on this hub."""

    name: str = "bus"

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every batch of committed messages; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _deliver(self, messages: Sequence[Message]) -> None:
        for listener in list(self._listeners):
            listener(messages)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open whatever connection the backend needs."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Close it."""

    def before_commit(self, connection: Connection, messages: Sequence[Message]) -> None:  # noqa: B027
        """Runs inside the insert transaction; nothing to do for an in-process bus."""

    @abstractmethod
    async def publish(self, messages: Sequence[Message]) -> None:
        """Runs after the insert committed."""

    @property
    def status(self) -> str:
        """`ok`, or a short reason why delivery across hubs is impaired."""
        return "ok"
