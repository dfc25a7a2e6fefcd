"""The fan-out bus: how a stored message reaches every hub's live streams.

One interface, one file per backend (`memory.py` for one hub, `postgres.py` for several
hubs on one PostgreSQL). The bus knows nothing of sockets: it hands committed messages
to its listeners (the fan-out, and the recent messages agents answer), on the event loop.
A listener is subscribed for the length of a `with bus.subscribe(listener):` block, so a
subscription cannot outlive whoever took it.

Each id reaches the listeners once, in id order, and that is enforced here, in `_deliver`,
where every backend delivers: a batch's ids at or below the last delivered id are dropped
(a PostgreSQL listener that catches up after a reconnect can read again what a late
notification also carries). Listeners rely on it and check nothing. A backend hands
`_deliver` batches in id order, as the store's commit order makes them.

The hub drives it in two steps around the store's transaction:
`before_commit(connection, messages)` runs inside the insert transaction (a PostgreSQL
bus sends NOTIFY there so that only committed messages are announced), and
`publish(messages)` runs after the commit (the in-process bus delivers there).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy.engine import Connection

from agentchat.message import Message

__all__ = ["Bus", "Listener"]

Listener = Callable[[Sequence[Message]], None]


class Bus(ABC):
    """Delivers committed messages to listeners on this hub."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.last_delivered_id = 0

    @contextlib.contextmanager
    def subscribe(self, listener: Listener) -> Iterator[None]:
        """Call `listener` with every batch of committed messages while the `with` block runs.

        A context manager, so whoever subscribes also releases, in the reverse order (the hub's
        lifespan keeps them on one exit stack), and no unsubscribe function is kept by hand.
        """
        self._listeners.append(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)

    def _deliver(self, messages: Sequence[Message]) -> None:
        """Hand listeners the messages after the last delivered id: each id once, in id order."""
        fresh = [message for message in messages if message.id > self.last_delivered_id]
        if not fresh:
            return
        self.last_delivered_id = fresh[-1].id
        for listener in list(self._listeners):
            listener(fresh)

    def start_after(self, message_id: int) -> None:
        """Before `start`: every message up to `message_id` is known already (the hub's frame window read
        them); deliver every committed one after it. A backend that reads history at start reads from here."""
        self.last_delivered_id = max(self.last_delivered_id, message_id)

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
