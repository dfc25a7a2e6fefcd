"""The hot path: one message, N open SSE streams.

Deliberate choices, each measured with `bench/fanout.py`:

- A frame is encoded once per message and the same bytes go to every client; a batch
  of messages becomes one chunk, so a client receives one write per batch, not one
  per message. Clients that filter by agent share one chunk per distinct filter.
- No coroutine per client per message. Under uvicorn (the server we ship with) a live
  stream is written straight to its transport: the chunk is framed for HTTP chunked
  encoding once, and each delivery is one `transport.write` after checking uvicorn's
  own flow-control flag. That is the floor the machine allows: one syscall, no
  `send()` coroutine, no event-loop wake-up. `DirectSocket` is the only place that
  knows uvicorn's internals (`send.__self__` is its request cycle, with `transport`,
  `flow` and `chunked_encoding`); when they are not there the fan-out falls back to
  *stepping* the ASGI `send` once (`_start_send`), which still completes without a
  wake-up whenever the socket has room.
- Only a client whose socket is full costs more: its frames collect in a backlog
  bounded in bytes (`max_buffer_bytes`) and one writer task for that client flushes
  the whole backlog in one write when the socket drains. A backlog over the bound
  drops the client (counted as slow) and never delays anyone else; its connection is
  aborted, which also wakes its request handler with `http.disconnect`.
- The kernel's send buffer of a live stream is capped (`KERNEL_SEND_BUFFER_BYTES`).
  Linux would otherwise let it grow to megabytes for a client that stopped reading, so
  a stalled viewer could pin far more memory than the backlog bound and would take
  minutes of traffic to be noticed. SSE frames are small; the cap costs a reader nothing.
- A stream that replays history (Last-Event-ID) is registered before the store is
  read and collects live frames meanwhile; `go_live` then sends only those with an id
  above the last replayed one, so nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import Any

from agentchat.message import Message

logger = logging.getLogger("agentchat.fanout")

Send = Callable[[dict[str, Any]], Awaitable[None]]

KERNEL_SEND_BUFFER_BYTES = 64 * 1024


class Mode(enum.Enum):
    REPLAYING = "replaying"  # collecting live frames while history is read
    IDLE = "idle"  # live; the socket had room after the last write
    BLOCKED = "blocked"  # live; a write is waiting for the socket to drain
    CLOSED = "closed"


def http_chunk(raw: bytes) -> bytes:
    """`raw` as one chunk of HTTP chunked transfer encoding, as uvicorn would write it."""
    return b"%x\r\n%b\r\n" % (len(raw), raw)


class Chunk:
    """Bytes for one or more frames, and the same bytes framed for HTTP chunked encoding."""

    __slots__ = ("count", "framed", "raw")

    def __init__(self, raw: bytes, count: int) -> None:
        self.raw = raw
        self.count = count  # messages in it (0 for a heartbeat)
        self.framed = http_chunk(raw)


class DirectSocket:
    """Writes a live stream's chunks straight to uvicorn's transport (see the module docstring)."""

    __slots__ = ("cycle", "flow", "transport")

    def __init__(self, cycle: Any) -> None:
        self.cycle = cycle
        self.transport = cycle.transport
        self.flow = cycle.flow

    @staticmethod
    def transport_of(send: Send) -> Any:
        """uvicorn's transport behind an ASGI `send` (its request cycle's), or None on another server."""
        return getattr(getattr(send, "__self__", None), "transport", None)

    @classmethod
    def attach(cls, send: Send) -> DirectSocket | None:
        """The direct route for a stream whose headers are sent, or None when the server is not uvicorn."""
        cycle = getattr(send, "__self__", None)
        flow = getattr(cycle, "flow", None)
        if (
            getattr(cycle, "chunked_encoding", None) is not True
            or cls.transport_of(send) is None
            or not isinstance(getattr(flow, "write_paused", None), bool)
            or not isinstance(getattr(cycle, "disconnected", None), bool)
        ):
            return None
        direct = cls(cycle)
        direct.cap_kernel_buffer()
        return direct

    def cap_kernel_buffer(self) -> None:
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER_BYTES)

    async def drain(self) -> None:
        await self.flow.drain()


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

    __slots__ = (
        "agents",
        "backlog",
        "backlog_bytes",
        "direct",
        "mode",
        "pending",
        "reason",
        "send",
        "skip_up_to",
        "writer",
    )

    def __init__(self, send: Send, agents: frozenset[str] | None) -> None:
        self.send = send
        self.agents = agents
        self.mode = Mode.REPLAYING
        self.direct: DirectSocket | None = None
        self.pending: list[tuple[int, bytes]] = []  # live frames that arrived during replay
        self.backlog: list[bytes] = []  # raw chunks waiting while the socket is full
        self.backlog_bytes = 0
        self.skip_up_to = 0  # replayed ids the bus has not delivered yet (a listener catching up)
        self.writer: asyncio.Task[None] | None = None
        self.reason = ""

    def wants(self, message: Message) -> bool:
        return self.agents is None or message.agent_id in self.agents

    def queue(self, raw: bytes) -> int:
        """Keep `raw` until the socket drains; returns the bytes now waiting."""
        self.backlog.append(raw)
        self.backlog_bytes += len(raw)
        return self.backlog_bytes

    def take_backlog(self) -> bytes:
        """Everything waiting, as one write."""
        raw = b"".join(self.backlog)
        self.backlog.clear()
        self.backlog_bytes = 0
        return raw


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
        """End the replay (headers are sent by now): send what arrived meanwhile and was not replayed."""
        if subscriber.mode is not Mode.REPLAYING:
            return
        frames = [frame for message_id, frame in subscriber.pending if message_id > replayed_up_to]
        subscriber.pending = []
        subscriber.mode = Mode.IDLE
        subscriber.direct = DirectSocket.attach(subscriber.send)
        if replayed_up_to > self.last_published_id:
            subscriber.skip_up_to = replayed_up_to
        if frames:
            self._push(subscriber, Chunk(b"".join(frames), len(frames)))

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
        everything = Chunk(b"".join(frame for _, frame in frames), len(frames))
        by_filter: dict[frozenset[str], Chunk] = {}
        delivered = 0
        for subscriber in tuple(self.subscribers):
            agents = subscriber.agents
            if subscriber.mode is Mode.REPLAYING:
                subscriber.pending.extend((m.id, frame) for m, frame in frames if subscriber.wants(m))
                self._check_bound(subscriber, sum(len(frame) for _, frame in subscriber.pending))
                continue
            if subscriber.skip_up_to:
                chunk = self._beyond_replay(subscriber, frames)
            elif agents is None:
                chunk = everything
            else:
                cached = by_filter.get(agents)
                if cached is None:
                    picked = [frame for m, frame in frames if m.agent_id in agents]
                    cached = by_filter[agents] = Chunk(b"".join(picked), len(picked))
                chunk = cached
            if chunk.count:
                self._push(subscriber, chunk)
                delivered += chunk.count
        self.stats.delivered += delivered

    @staticmethod
    def _beyond_replay(subscriber: Subscriber, frames: list[tuple[Message, bytes]]) -> Chunk:
        """The frames a stream has not had yet, when its replay ran ahead of this hub's bus."""
        picked = [frame for m, frame in frames if m.id > subscriber.skip_up_to and subscriber.wants(m)]
        if frames[-1][0].id > subscriber.skip_up_to:
            subscriber.skip_up_to = 0  # every later batch is beyond the replay
        return Chunk(b"".join(picked), len(picked))

    def broadcast(self, raw: bytes) -> int:
        """Send the same bytes (a heartbeat) to every live stream; returns how many got it."""
        chunk = Chunk(raw, 0)
        reached = 0
        for subscriber in tuple(self.subscribers):
            if subscriber.mode is Mode.IDLE or subscriber.mode is Mode.BLOCKED:
                self._push(subscriber, chunk)
                reached += 1
        return reached

    def broadcast_per_filter(self, frame_for: Callable[[frozenset[str] | None], bytes | None]) -> int:
        """Send each live stream the frame `frame_for` makes for its agent filter (a book frame).

        Made once per distinct filter and shared, as message chunks are; None sends that filter nothing.
        Returns how many streams got a frame.
        """
        chunks: dict[frozenset[str] | None, Chunk | None] = {}
        reached = 0
        for subscriber in tuple(self.subscribers):
            if subscriber.mode is not Mode.IDLE and subscriber.mode is not Mode.BLOCKED:
                continue
            if subscriber.agents not in chunks:
                raw = frame_for(subscriber.agents)
                chunks[subscriber.agents] = Chunk(raw, 0) if raw is not None else None
            chunk = chunks[subscriber.agents]
            if chunk is not None:
                self._push(subscriber, chunk)
                reached += 1
        return reached

    def _push(self, subscriber: Subscriber, chunk: Chunk) -> None:
        if subscriber.mode is Mode.BLOCKED:
            self._check_bound(subscriber, subscriber.queue(chunk.raw))
            return
        if subscriber.mode is not Mode.IDLE:
            return
        direct = subscriber.direct
        if direct is not None:
            if not direct.flow.write_paused and not direct.cycle.disconnected:
                direct.transport.write(chunk.framed)  # the common case: one write, nothing else
            elif not direct.cycle.disconnected:
                subscriber.mode = Mode.BLOCKED
                subscriber.queue(chunk.raw)
                subscriber.writer = asyncio.ensure_future(self._flush_when_writable(subscriber, direct))
            return
        try:
            suspended = _start_send(subscriber.send, _body(chunk.raw))
        except Exception as exc:  # the connection broke under us; its handler will clean up
            self._drop(subscriber, f"send failed: {exc}")
            return
        if suspended is not None:
            subscriber.mode = Mode.BLOCKED
            subscriber.writer = asyncio.ensure_future(self._write_behind(subscriber, suspended))

    async def _flush_when_writable(self, subscriber: Subscriber, direct: DirectSocket) -> None:
        """A slow client's own writer on the direct route: wait for room, then write the backlog at once."""
        try:
            while subscriber.backlog and subscriber.mode is Mode.BLOCKED:
                await direct.drain()
                if direct.cycle.disconnected:
                    return
                direct.transport.write(http_chunk(subscriber.take_backlog()))
        except asyncio.CancelledError:
            return
        finally:
            subscriber.writer = None
        if subscriber.mode is Mode.BLOCKED:
            subscriber.mode = Mode.IDLE

    async def _write_behind(self, subscriber: Subscriber, suspended: _Suspended) -> None:
        """A slow client's own writer on the ASGI route: finish the stalled send, then flush the backlog."""
        try:
            await suspended
            while subscriber.backlog and subscriber.mode is Mode.BLOCKED:
                await subscriber.send(_body(subscriber.take_backlog()))
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
        for subscriber in tuple(self.subscribers):
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
    transport = DirectSocket.transport_of(subscriber.send)
    if transport is not None:
        transport.abort()
