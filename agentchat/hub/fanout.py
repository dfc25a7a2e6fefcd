"""The hot path: one message, N open SSE streams.

Deliberate choices, each measured (see `bench/`):

- A frame is encoded once per message and the same bytes go to every client; a batch
  of messages becomes one chunk, so a client receives one write per batch, not one
  per message. Clients that filter by agent share one chunk per distinct filter.
- No coroutine per client per message. The fan-out calls the server's ASGI `send`
  for each client directly and *steps* it once (`_start_send`): when the socket has
  room, uvicorn writes and returns without ever suspending, so delivery costs one
  write and no event-loop wake-up. Only when a client's socket is full does the send
  suspend; then it is handed to a writer task for that client alone, and new frames
  for that client collect in a backlog bounded in bytes (`max_buffer_bytes`). When the
  writer catches up it sends the whole backlog in one write. A backlog that overflows
  drops the client (counted as slow) and never delays anyone else.
- A dropped client's connection is aborted through the server's transport when the
  server exposes it (uvicorn does, as `send.__self__.transport`); that ends its
  pending write and wakes its request handler with `http.disconnect`.
- A stream that replays history (Last-Event-ID) is registered before the store is
  read and collects live frames meanwhile; `go_live` then sends only those with an id
  above the last replayed one, so nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import Any

from agentchat.message import Message

logger = logging.getLogger("agentchat.fanout")

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Mode(enum.Enum):
    REPLAYING = "replaying"  # collecting live frames while history is read
    IDLE = "idle"  # live; the socket had room after the last write
    BLOCKED = "blocked"  # live; a write is waiting for the socket to drain
    CLOSED = "closed"


class _Suspended:
    """Finishes, inside a task, a coroutine that `_start_send` already stepped once."""

    __slots__ = ("_coroutine", "_pending")

    def __init__(self, coroutine: Coroutine[Any, Any, None], pending: Any) -> None:
        self._coroutine = coroutine
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        pending = self._pending
        while True:
            try:
                value = yield pending
            except BaseException as exc:  # forward cancellation and errors into the send
                try:
                    pending = self._coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    pending = self._coroutine.send(value)
                except StopIteration:
                    return

    def close(self) -> None:
        """Abandon the write (the connection is being aborted anyway)."""
        self._coroutine.close()


def _start_send(send: Send, message: dict[str, Any]) -> _Suspended | None:
    """Run `send(message)` up to its first suspension; None when it completed at once."""
    coroutine = send(message)
    if not isinstance(coroutine, Coroutine):  # an awaitable that is not a coroutine: no stepping
        return _Suspended(_as_coroutine(coroutine), None)
    try:
        pending = coroutine.send(None)
    except StopIteration:
        return None
    return _Suspended(coroutine, pending)


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable


def _body(chunk: bytes, more_body: bool = True) -> dict[str, Any]:
    return {"type": "http.response.body", "body": chunk, "more_body": more_body}


class Subscriber:
    """One open SSE stream."""

    __slots__ = ("agents", "backlog", "backlog_bytes", "finished", "mode", "pending", "reason", "send", "writer")

    def __init__(self, send: Send, agents: frozenset[str] | None) -> None:
        self.send = send
        self.agents = agents
        self.mode = Mode.REPLAYING
        self.pending: list[tuple[int, bytes]] = []  # live frames that arrived during replay
        self.backlog: list[bytes] = []  # chunks waiting while the socket is full
        self.backlog_bytes = 0
        self.writer: asyncio.Task[None] | None = None
        self.finished = False
        self.reason = ""

    def wants(self, message: Message) -> bool:
        return self.agents is None or message.agent_id in self.agents


class FanoutStats:
    """Plain counters on the hot path; `/metrics` reads them when scraped."""

    __slots__ = ("connected_total", "delivered", "dropped_slow", "heartbeats", "published")

    def __init__(self) -> None:
        self.published = 0
        self.delivered = 0
        self.dropped_slow = 0
        self.heartbeats = 0
        self.connected_total = 0


class Fanout:
    """The set of open streams on this hub and the delivery loop over them."""

    def __init__(self, max_buffer_bytes: int) -> None:
        self.max_buffer_bytes = max_buffer_bytes
        self.subscribers: set[Subscriber] = set()
        self.stats = FanoutStats()
        self.last_published_id = 0
        self.closing = False

    def __len__(self) -> int:
        return len(self.subscribers)

    # -- membership -------------------------------------------------------------------

    def add(self, send: Send, agents: frozenset[str] | None) -> Subscriber:
        """Register a stream; it collects live frames until `go_live`."""
        subscriber = Subscriber(send, agents)
        self.subscribers.add(subscriber)
        self.stats.connected_total += 1
        return subscriber

    def go_live(self, subscriber: Subscriber, replayed_up_to: int) -> None:
        """End the replay: send the frames that arrived meanwhile and were not replayed."""
        if subscriber.mode is not Mode.REPLAYING:
            return
        frames = [frame for message_id, frame in subscriber.pending if message_id > replayed_up_to]
        subscriber.pending = []
        subscriber.mode = Mode.IDLE
        if frames:
            self._push(subscriber, b"".join(frames), len(frames))

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        subscriber.mode = Mode.CLOSED
        if subscriber.writer is not None:
            subscriber.writer.cancel()

    # -- delivery ---------------------------------------------------------------------

    def publish(self, messages: Sequence[Message]) -> None:
        """Bus listener: deliver committed messages, in id order, each at most once."""
        fresh = [message for message in messages if message.id > self.last_published_id]
        if not fresh:
            return
        self.last_published_id = fresh[-1].id
        self.stats.published += len(fresh)
        frames = [(message, message.sse_frame()) for message in fresh]
        everything = b"".join(frame for _, frame in frames)
        chunks: dict[frozenset[str], tuple[bytes, int]] = {}
        delivered = 0
        for subscriber in list(self.subscribers):
            if subscriber.mode is Mode.REPLAYING:
                subscriber.pending.extend((m.id, frame) for m, frame in frames if subscriber.wants(m))
                self._check_bound(subscriber, sum(len(frame) for _, frame in subscriber.pending))
                continue
            if subscriber.agents is None:
                chunk, count = everything, len(frames)
            else:
                cached = chunks.get(subscriber.agents)
                if cached is None:
                    picked = [frame for m, frame in frames if m.agent_id in subscriber.agents]
                    cached = chunks[subscriber.agents] = (b"".join(picked), len(picked))
                chunk, count = cached
            if count:
                self._push(subscriber, chunk, count)
                delivered += count
        self.stats.delivered += delivered

    def broadcast(self, chunk: bytes) -> int:
        """Send the same bytes (a heartbeat) to every live stream; returns how many got it."""
        reached = 0
        for subscriber in list(self.subscribers):
            if subscriber.mode is Mode.IDLE or subscriber.mode is Mode.BLOCKED:
                self._push(subscriber, chunk, 0)
                reached += 1
        return reached

    def _push(self, subscriber: Subscriber, chunk: bytes, count: int) -> None:
        if subscriber.mode is Mode.IDLE:
            try:
                suspended = _start_send(subscriber.send, _body(chunk))
            except Exception as exc:  # the connection broke under us; its handler will clean up
                self._drop(subscriber, f"send failed: {exc}")
                return
            if suspended is not None:
                subscriber.mode = Mode.BLOCKED
                subscriber.writer = asyncio.ensure_future(self._write_behind(subscriber, suspended))
        elif subscriber.mode is Mode.BLOCKED:
            subscriber.backlog.append(chunk)
            subscriber.backlog_bytes += len(chunk)
            self._check_bound(subscriber, subscriber.backlog_bytes)

    async def _write_behind(self, subscriber: Subscriber, suspended: _Suspended) -> None:
        """A slow client's own writer: finish the stalled write, then flush the backlog in one write each."""
        try:
            await suspended
            while subscriber.backlog and subscriber.mode is Mode.BLOCKED:
                chunk = b"".join(subscriber.backlog)
                subscriber.backlog.clear()
                subscriber.backlog_bytes = 0
                await subscriber.send(_body(chunk))
        except asyncio.CancelledError:
            return
        except Exception as exc:
            self._drop(subscriber, f"send failed: {exc}")
            return
        finally:
            subscriber.writer = None
        if subscriber.mode is Mode.BLOCKED:
            subscriber.mode = Mode.IDLE

    def _check_bound(self, subscriber: Subscriber, buffered_bytes: int) -> None:
        if buffered_bytes > self.max_buffer_bytes:
            self.stats.dropped_slow += 1
            self._drop(subscriber, f"slow client: over {self.max_buffer_bytes} bytes waiting")

    def _drop(self, subscriber: Subscriber, reason: str) -> None:
        """Cut a stream off: forget its frames and abort its connection."""
        if subscriber.mode is Mode.CLOSED:
            return
        logger.info("dropping SSE client: %s", reason)
        subscriber.reason = reason
        subscriber.backlog.clear()
        subscriber.pending = []
        self.remove(subscriber)
        _abort_connection(subscriber)

    # -- shutdown ---------------------------------------------------------------------

    def close_all(self) -> None:
        """End every stream cleanly (the final empty chunk), so the server can close idle connections."""
        self.closing = True
        for subscriber in list(self.subscribers):
            was_idle = subscriber.mode is Mode.IDLE
            self.remove(subscriber)
            if was_idle:
                try:
                    suspended = _start_send(subscriber.send, _body(b"", more_body=False))
                except Exception:
                    suspended = None
                if suspended is None:
                    continue
                suspended.close()
            _abort_connection(subscriber)


def _abort_connection(subscriber: Subscriber) -> None:
    """Close the client's socket now, without flushing (uvicorn exposes its transport)."""
    transport = getattr(getattr(subscriber.send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
