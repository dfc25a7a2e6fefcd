"""The PostgreSQL bus: LISTEN/NOTIFY, so a message made through any hub reaches every hub's streams.

Deliberate choices:

- NOTIFY is sent inside the insert transaction (`before_commit`), so PostgreSQL delivers it
  only if, and when, the messages commit; `publish` does nothing. Every hub, the one that
  inserted included, gets its messages back through LISTEN: one path, one order.
- The store's advisory lock makes commit order equal id order across hubs, and PostgreSQL
  delivers notifications in commit order, so batches arrive in id order. The listener still
  checks: when a batch does not start right after the last id it delivered (a missed
  notification, or ids burnt by a rolled-back insert), it reads the gap from the store first.
- The payload is the compact JSON of the messages when it is at most `INLINE_LIMIT_BYTES`
  (well under PostgreSQL's 8000-byte limit: a round of the built-in six fits); otherwise only
  the ids, and the listener reads the messages from the store.
- One dedicated connection per hub, outside the store's pool, in autocommit mode. When it
  dies (database restart, `pg_terminate_backend`, a network cut) the listener reconnects
  with exponential backoff and then back-fills every message after the last id it delivered
  from the store, so nothing committed meanwhile is lost; `Bus._deliver` drops any id
  delivered already (a notification that arrives after the back-fill read it). A silent
  connection is found out by re-issuing `LISTEN` every `ping_seconds` (which also keeps
  `pg_stat_activity.query` reading `LISTEN ...` for operators).
- The last delivered id (`Bus.last_delivered_id`) starts at the store's newest id, read after
  the first `LISTEN` and before the hub serves: everything older is history that streams
  replay from the store.
- `status` is `ok`, `starting`, or `reconnecting: <reason>`; `/healthz` shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agentchat.bus.base import Bus
from agentchat.errors import StoreUnavailable
from agentchat.message import Message, dumps
from agentchat.store import Store

__all__ = ["INLINE_LIMIT_BYTES", "PostgresBus", "notification_payload"]

logger = logging.getLogger("agentchat.bus")

CHANNEL = "agentchat_messages"
INLINE_LIMIT_BYTES = 6000  # PostgreSQL refuses payloads of 8000 bytes or more
APPLICATION_NAME = "agentchat-listener"


def notification_payload(messages: Sequence[Message]) -> str:
    """`{"messages": [...]}` when small enough, else `{"ids": [...]}`."""
    inline = dumps({"messages": [message.to_dict(with_details=True) for message in messages]})
    if len(inline.encode()) <= INLINE_LIMIT_BYTES:
        return inline
    return dumps({"ids": [message.id for message in messages]})


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class PostgresBus(Bus):
    """LISTEN on one connection per hub; deliver each committed batch once, in id order."""

    def __init__(
        self,
        store: Store,
        timeout_seconds: float = 5.0,
        ping_seconds: float = 15.0,
        first_backoff_seconds: float = 0.1,
        max_backoff_seconds: float = 2.0,
    ) -> None:
        super().__init__()
        self.store = store
        self.conninfo = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.timeout_seconds = timeout_seconds
        self.ping_seconds = ping_seconds
        self.first_backoff_seconds = first_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._history_read = False  # the store's newest id at start is known
        self._status = "starting"
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def status(self) -> str:
        return self._status

    def start_after(self, message_id: int) -> None:
        """The history is read (up to `message_id`): the first connect catches up from there, not from its own read."""
        super().start_after(message_id)
        self._history_read = True

    # -- the writing side: inside the insert transaction, in a worker thread -------------

    def before_commit(self, connection: Connection, messages: Sequence[Message]) -> None:
        if messages:
            connection.execute(
                sa.text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": notification_payload(messages)},
            )

    async def publish(self, messages: Sequence[Message]) -> None:
        """Nothing: the messages come back to this hub too, through LISTEN."""

    # -- the listening side: one task on the hub's event loop ----------------------------

    async def start(self) -> None:
        """Start listening; wait (up to the timeout) until the first LISTEN is in place."""
        self._task = asyncio.create_task(self._listen_forever(), name="agentchat-bus-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self.timeout_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen_forever(self) -> None:
        backoff = self.first_backoff_seconds
        while True:
            try:
                async with await self._connect() as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    await self._catch_up_after_connect()
                    if self._status != "starting":
                        logger.info("bus listener is back; delivered everything up to id %s", self.last_delivered_id)
                    self._status = "ok"
                    self._listening.set()
                    backoff = self.first_backoff_seconds
                    await self._receive(connection)
            except (psycopg.Error, StoreUnavailable, OSError, TimeoutError) as error:
                self._lost(_reason(error))
            except Exception as error:  # a bug must not end cross-hub delivery for good
                logger.exception("bus listener failed")
                self._lost(_reason(error))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_seconds)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=max(1, int(self.timeout_seconds)),
            application_name=APPLICATION_NAME,
        )

    def _lost(self, reason: str) -> None:
        if not self._status.startswith("reconnecting"):
            logger.warning("bus listener lost its connection (%s); reconnecting", reason)
        self._status = f"reconnecting: {reason}"

    async def _receive(self, connection: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notify in connection.notifies(timeout=self.ping_seconds):
                await self._on_notify(notify.payload)
            await asyncio.wait_for(connection.execute(f"LISTEN {CHANNEL}"), self.timeout_seconds)

    async def _on_notify(self, payload: str) -> None:
        try:
            document = json.loads(payload)
            messages = [Message.from_dict(item) for item in document.get("messages", [])]
            newest = max([message.id for message in messages] + [int(i) for i in document.get("ids", [])])
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.warning("bus: unreadable notification, reading the store instead: %.200s", payload)
            await self._catch_up()
            return
        if newest <= self.last_delivered_id:  # the back-fill delivered these already: no store read
            return
        first_new = next((message.id for message in messages if message.id > self.last_delivered_id), None)
        if first_new == self.last_delivered_id + 1:
            self._deliver(messages)
        else:  # only ids, or a gap before this batch: the store has the whole story
            await self._catch_up()

    async def _catch_up_after_connect(self) -> None:
        if not self._history_read:  # first start: what is stored already is history
            bounds = await anyio.to_thread.run_sync(self.store.bounds)
            self.last_delivered_id = bounds.last_id or 0
            self._history_read = True
        else:
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Deliver every stored message after the last delivered id."""
        missed = await anyio.to_thread.run_sync(self.store.all_since, self.last_delivered_id)
        self._deliver(missed)
