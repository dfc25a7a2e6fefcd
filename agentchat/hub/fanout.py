"""The hot path: one message, N open SSE streams.

Deliberate choices, each measured with `bench/fanout.py`:

- A frame is encoded once per message and the same bytes go to every client; a batch
  of messages becomes one chunk, so a client receives one write per batch, not one
  per message. Clients that filter by agent share one chunk per distinct filter.
- No coroutine per client per message. The fan-out talks to each stream's connection
  only through `StreamSocket` (`hub/sockets/`): `offer` a chunk without waiting, and
  only when the socket could not take it at once, `drain` it from a task. Under uvicorn
  an offer is one `transport.write` (`sockets/uvicorn.py`, the only code that knows
  uvicorn's internals); on any other server, or uvicorn's h11 protocol, it steps the
  ASGI `send` once (`sockets/asgi.py`). Both finish without a wake-up whenever the
  socket has room.
- Only a client whose socket is full costs more: its frames collect in a backlog
  bounded in bytes (`max_buffer_bytes`) and one writer task for that client flushes
  the whole backlog in one write when the socket drains. A backlog over the bound
  drops the client (counted as slow) and never delays anyone else; its connection is
  aborted, which also wakes its request handler with `http.disconnect`.
- The bus hands over each committed id once, in id order (`Bus._deliver`), so this
  module trusts the order it is given.
- A stream that replays history (Last-Event-ID) is registered before the store is
  read and collects live frames meanwhile; `go_live` then sends only those with an id
  above the last replayed one, so nothing is lost or sent twice.
- The delivery loop serves the usual stream (live, the whole feed, no details, its socket with
  room) first and in line, without a call per stream: `bench/fanout.py`'s chat-only streams are
  all such, and the loop's Python costs about half as much per delivery that way.
- Book frames (`book_frames.py`) go only to the streams that asked for them (`?books=1`),
  kept in a set of their own: a round's book costs the streams that never show books
  nothing, not even a look.

A stream's life, as `Mode`: REPLAYING, then IDLE; an offer the socket does not complete
makes it BLOCKED until its writer has drained the socket and flushed the backlog (IDLE
again); a drop, a disconnect or shutdown makes it CLOSED.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Sequence

from agentchat.hub.sockets import DONE, FULL, GONE, Chunk, StreamSocket, Write
from agentchat.message import Message

__all__ = ["Fanout", "FanoutStats", "Mode", "Subscriber"]

logger = logging.getLogger("agentchat.fanout")


class Mode(enum.Enum):
    REPLAYING = "replaying"  # collecting live frames while history is read
    IDLE = "idle"  # live; the socket had room after the last write
    BLOCKED = "blocked"  # live; a writer waits for the socket to drain
    CLOSED = "closed"


# The members by plain module names as well, for the hot path: on Python 3.11 every read of
# `Mode.IDLE` goes through the enum class and costs about 0.1 µs, several times a delivery.
REPLAYING, IDLE, BLOCKED, CLOSED = Mode


class Subscriber:
    """One open SSE stream."""

    __slots__ = (
        "agents",
        "backlog",
        "backlog_bytes",
        "books",
        "details",
        "mode",
        "pending",
        "skip_up_to",
        "socket",
        "whole",
        "writer",
    )

    def __init__(self, socket: StreamSocket, agents: frozenset[str] | None, books: bool = False) -> None:
        self.socket = socket
        self.agents = agents
        self.books = books  # asked for `event: book` frames
        self.details = False  # `?details=1`: message frames carry `details` (built only for such streams)
        self.mode = REPLAYING
        self.pending: list[tuple[int, bytes]] = []  # live frames that arrived during replay
        self.backlog: list[bytes] = []  # raw chunks waiting while the socket is full
        self.backlog_bytes = 0
        self.skip_up_to = 0  # replayed ids the bus has not delivered yet (a listener catching up)
        self.whole = False  # live on the whole feed without details (set by `go_live`): the hot path's case
        self.writer: asyncio.Task[None] | None = None

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

    def put_back(self, raw: bytes) -> None:
        """A backlog the socket refused goes first again."""
        self.backlog.insert(0, raw)
        self.backlog_bytes += len(raw)


class FanoutStats:
    """Plain counters on the hot path; `/metrics` reads them when scraped."""

    __slots__ = ("connected_at_once", "connected_total", "delivered", "dropped_slow", "heartbeats", "published")

    def __init__(self) -> None:
        self.published = 0
        self.delivered = 0
        self.dropped_slow = 0
        self.heartbeats = 0
        self.connected_total = 0
        self.connected_at_once = 0  # of those, opened by the protocol in one step (`StreamEndpoint.open_at_once`)


class Fanout:
    """The set of open streams on this hub and the delivery loop over them."""

    def __init__(self, max_buffer_bytes: int) -> None:
        self.max_buffer_bytes = max_buffer_bytes
        self.subscribers: set[Subscriber] = set()
        self.book_subscribers: set[Subscriber] = set()  # the streams that asked for book frames
        self.stats = FanoutStats()
        self.last_published_id = 0

    def __len__(self) -> int:
        return len(self.subscribers)

    # -- membership -------------------------------------------------------------------

    def add(self, socket: StreamSocket, agents: frozenset[str] | None, books: bool = False) -> Subscriber:
        """Register a stream; it collects live frames until `go_live`."""
        subscriber = Subscriber(socket, agents, books)
        self.subscribers.add(subscriber)
        if books:
            self.book_subscribers.add(subscriber)
        self.stats.connected_total += 1
        return subscriber

    def go_live(self, subscriber: Subscriber, replayed_up_to: int, first: Callable[[], bytes] | None = None) -> None:
        """End the replay (headers are sent by now): send what arrived meanwhile and was not replayed.

        `first` makes a frame that goes ahead of them (a book stream's full books): it is made here,
        in the same step that makes the stream live, so no book frame falls between the two.
        """
        if subscriber.mode is not REPLAYING:
            return
        frames = [frame for message_id, frame in subscriber.pending if message_id > replayed_up_to]
        if first is not None:
            opening = first()
            if opening:
                frames.insert(0, opening)
        subscriber.pending = []
        subscriber.mode = IDLE
        subscriber.whole = subscriber.agents is None and not subscriber.details
        subscriber.socket.headers_sent()
        if replayed_up_to > self.last_published_id:
            subscriber.skip_up_to = replayed_up_to
        if frames:
            self._push(subscriber, Chunk(b"".join(frames), len(frames)))

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if subscriber.books:
            self.book_subscribers.discard(subscriber)
        subscriber.mode = CLOSED
        if subscriber.writer is not None:
            subscriber.writer.cancel()

    # -- delivery ---------------------------------------------------------------------

    def publish(self, messages: Sequence[Message]) -> None:
        """Bus listener: deliver committed messages (the bus hands each id once, in id order)."""
        if not messages:
            return
        self.last_published_id = messages[-1].id
        self.stats.published += len(messages)
        frames = [(message, message.sse_frame()) for message in messages]
        everything = Chunk(b"".join(frame for _, frame in frames), len(frames))
        by_filter: dict[frozenset[str], Chunk] = {}
        has_details = any(message.details for message in messages)
        detailed = [(m, m.sse_frame(True) if m.details else f) for m, f in frames] if has_details else frames
        delivered = 0
        count = everything.count
        for subscriber in tuple(self.subscribers):
            if subscriber.whole and subscriber.mode is IDLE and not subscriber.skip_up_to:
                # The common case, `_push` inlined: a live stream of the whole feed whose socket had room.
                delivered += count
                try:
                    outcome = subscriber.socket.offer(everything)
                except Exception as exc:  # the connection broke under us; its handler will clean up
                    self._drop(subscriber, f"send failed: {exc}")
                    continue
                if outcome is not DONE and outcome is not GONE:
                    self._block(subscriber, everything, outcome)
                continue
            agents = subscriber.agents
            own = detailed if subscriber.details else frames
            if subscriber.mode is REPLAYING:
                subscriber.pending.extend((m.id, frame) for m, frame in own if subscriber.wants(m))
                self._check_bound(subscriber, sum(len(frame) for _, frame in subscriber.pending))
                continue
            if subscriber.skip_up_to:
                chunk = self._beyond_replay(subscriber, own)
            elif own is not frames:  # a stream that asked for details, and this batch has some
                picked = [frame for m, frame in own if subscriber.wants(m)]
                chunk = Chunk(b"".join(picked), len(picked))
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
            if subscriber.mode is IDLE or subscriber.mode is BLOCKED:
                self._push(subscriber, chunk)
                reached += 1
        return reached

    def broadcast_books(self, frame_for: Callable[[frozenset[str] | None], bytes | None]) -> int:
        """Send each live stream that asked for books the frame `frame_for` makes for its agent filter.

        Made once per distinct filter and shared, as message chunks are; None sends that filter nothing.
        A stream still replaying gets none: its full books come with `go_live`. Returns how many
        streams got a frame.
        """
        chunks: dict[frozenset[str] | None, Chunk | None] = {}
        reached = 0
        for subscriber in tuple(self.book_subscribers):
            if subscriber.mode is not IDLE and subscriber.mode is not BLOCKED:
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
        mode = subscriber.mode
        if mode is BLOCKED:
            self._check_bound(subscriber, subscriber.queue(chunk.raw))
            return
        if mode is not IDLE:
            return
        try:
            outcome = subscriber.socket.offer(chunk)
        except Exception as exc:  # the connection broke under us; its handler will clean up
            self._drop(subscriber, f"send failed: {exc}")
            return
        if outcome is DONE or outcome is GONE:  # the common case: written, nothing else
            return
        self._block(subscriber, chunk, outcome)

    def _block(self, subscriber: Subscriber, chunk: Chunk, outcome: Write) -> None:
        """The socket could not complete `chunk` (`FULL`: not taken at all): a writer waits for it to drain."""
        if outcome is FULL:
            subscriber.queue(chunk.raw)
        subscriber.mode = BLOCKED
        subscriber.writer = asyncio.ensure_future(self._flush_when_writable(subscriber))

    async def _flush_when_writable(self, subscriber: Subscriber) -> None:
        """A slow client's own writer: wait for room, write the whole backlog at once, until none is left."""
        socket = subscriber.socket
        try:
            while subscriber.mode is BLOCKED:
                if not await socket.drain():
                    return  # the client has gone; its handler removes it
                if not subscriber.backlog:
                    break
                backlog = subscriber.take_backlog()
                outcome = socket.offer(Chunk(backlog, 0))
                if outcome is GONE:
                    return
                if outcome is FULL:
                    subscriber.put_back(backlog)
        except asyncio.CancelledError:
            return
        except Exception as exc:
            self._drop(subscriber, f"send failed: {exc}")
            return
        finally:
            subscriber.writer = None
        if subscriber.mode is BLOCKED:
            subscriber.mode = IDLE

    def _check_bound(self, subscriber: Subscriber, buffered_bytes: int) -> None:
        if buffered_bytes > self.max_buffer_bytes:
            self.stats.dropped_slow += 1
            self._drop(subscriber, f"slow client: over {self.max_buffer_bytes} bytes waiting")

    def _drop(self, subscriber: Subscriber, reason: str) -> None:
        """Cut a stream off: forget its frames and abort its connection."""
        if subscriber.mode is CLOSED:
            return
        logger.info("dropping SSE client: %s", reason)
        subscriber.backlog.clear()
        subscriber.backlog_bytes = 0
        subscriber.pending = []
        self.remove(subscriber)
        subscriber.socket.abort()

    # -- shutdown ---------------------------------------------------------------------

    def close_all(self) -> None:
        """End every stream cleanly (the final empty chunk), so the server can close idle connections."""
        for subscriber in tuple(self.subscribers):
            was_idle = subscriber.mode is IDLE
            self.remove(subscriber)
            if was_idle:
                subscriber.socket.end()
            else:
                subscriber.socket.abort()
