"""`GET /api/chat/stream`: the SSE endpoint, as a raw ASGI app.

It sits in front of Starlette's middleware stack on purpose: Starlette's error and
exception middlewares wrap `send` in a coroutine of their own, which would add two
awaits to every delivery and hide the server's transport from the stream's socket
(`sockets/uvicorn.py`). Errors are still answered with the hub's JSON error body
(`responses.py`), and CORS is applied here by the same rule as the rest of the API.

The order of work on connect is what makes resume exact: register with the fan-out
(collecting live frames), read the store, send `ready` and the replay, then go live.
`?books=1` asks for `event: book` frames: the full books as the stream goes live, then each
round's changes (`book_frames.py`); a stream without it gets none.

What a browser's EventSource needs to keep coming back: a response that is not 200
`text/event-stream` ends it for good, so a transient condition (the store unavailable, the
hub at its stream cap) is answered 200 with `retry:` and `event: unavailable` saying why,
then the stream closes and the client reconnects. A refusal that will not change by asking
again (a bad parameter) stays a 4xx with the JSON error body. `HEAD` answers the headers at
once, with no subscriber. A `Last-Event-ID` above every id the store ever handed out (a reset
or another store) is a gap: `ready` says `gap: true` and the stream replays what is retained.

What makes a reconnect storm cheap (`bench/storm.py`):

- Under `agentchat hub` (uvicorn with httptools) a connect that needs no waiting is opened by the
  server's protocol in one step (`open_at_once`, `sockets/protocols.py`), with no ASGI request
  task; the rest take the ASGI route (`__call__`). `/metrics` counts the first kind
  (`agentchat_stream_connects_at_once_total`).
- A resume is served from the frame window (`window.py`) when its Last-Event-ID is inside it:
  no store read, no thread hop, the frames already encoded. Older ones read the store, and
  identical concurrent reads are made once (`resume.py`). `/metrics` counts each resume by
  where it was served from.
- A fresh connect reads no store (`RecentBounds`), and what is the same for every connection
  is built once: the response headers, the constant parts of `ready` (`ReadyFrame`), the
  `retry:` lines (`retry.py`, a jittered value per connection). The headers are scanned once, and
  under uvicorn's httptools the response head and the first body go out in one write
  (`UvicornSocket.start_at_once`), not two `send` calls that check the same headers every time.
- Connects pass a `ConnectGate` (`pacing.py`): a bounded number per event-loop iteration, so
  a storm of them never holds back live delivery to the streams already open.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs

from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Scope, Send

from agentchat.contract import LAST_EVENT_ID
from agentchat.errors import AgentchatError, BadRequest, StoreUnavailable
from agentchat.hub.fanout import Subscriber
from agentchat.hub.params import parse_agents, parse_int
from agentchat.hub.parts import Hub
from agentchat.hub.responses import agentchat_error_response, error_response
from agentchat.hub.resume import History, SharedReads, read_history
from agentchat.hub.retry import RetryHint
from agentchat.hub.sockets import StreamSocket, open_socket
from agentchat.hub.window import WindowReplay
from agentchat.message import dumps, event_frame, format_timestamp
from agentchat.store import Bounds

__all__ = ["ReadyFrame", "RecentBounds", "StreamEndpoint", "parse_flag"]

logger = logging.getLogger("agentchat.hub")

FULL_LOG_SECONDS = 10.0  # at most one "stream cap reached" line this often
FILE_CHECK_SECONDS = 0.001  # window resumes within this share one look at the SQLite file


class RecentBounds:
    """Store bounds for `ready` on a fresh connect, refreshed at most once every `max_age_seconds`.

    A connect without Last-Event-ID replays nothing, so it need not cost a store read
    and a thread hop: thousands of viewers arriving at once share one read a second.
    A stale value is served while the next read runs (only the very first connect
    waits), and `last_id` comes from the fan-out when it has published something newer.
    """

    def __init__(self, hub: Hub, max_age_seconds: float = 1.0) -> None:
        self.hub = hub
        self.max_age_seconds = max_age_seconds
        self._bounds: Bounds | None = None
        self._read_at = 0.0
        self._reading: asyncio.Future[Bounds] | None = None

    async def get(self) -> Bounds:
        bounds = self.now()
        if bounds is None:  # the very first connect: wait for the first read
            assert self._reading is not None
            self._bounds = await asyncio.shield(self._reading)
            bounds = self.now()
            assert bounds is not None
        return bounds

    def now(self) -> Bounds | None:
        """The bounds without waiting (a new read started if these are stale); None before the first read."""
        if time.monotonic() - self._read_at > self.max_age_seconds and self._reading is None:
            self._reading = asyncio.ensure_future(self.hub.in_thread(self.hub.store.bounds))
            self._reading.add_done_callback(self._read_done)
        bounds = self._bounds
        if bounds is None:
            return None
        published = self.hub.fanout.last_published_id
        if published > (bounds.last_id or 0):
            return Bounds(bounds.earliest_id, published)
        return bounds

    @property
    def stored_last_id(self) -> int:
        """The newest id of the last store read (0 before the first)."""
        return (self._bounds.last_id or 0) if self._bounds is not None else 0

    def _read_done(self, reading: asyncio.Future[Bounds]) -> None:
        self._reading = None
        if not reading.cancelled() and reading.exception() is None:
            self._bounds = reading.result()
            self._read_at = time.monotonic()


class ReadyFrame:
    """`event: ready` for one connection, from a template built once per store identity.

    Only `server_time` (formatted at most once a millisecond), the bounds and `gap` change from
    one connect to the next; the rest of the JSON is encoded once.
    """

    def __init__(self, heartbeat_seconds: float) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self._store_id: str | None = None
        self._template = b""
        self._time_ms = -1
        self._time = b""

    def build(self, store_id: str | None, last_id: int | None, earliest_id: int | None, gap: bool) -> bytes:
        if store_id != self._store_id or not self._template:
            self._store_id = store_id
            self._template = (
                b'event: ready\ndata: {"server_time":"%b","heartbeat_seconds":'
                + dumps(self.heartbeat_seconds).encode()
                + b',"last_id":%b,"earliest_id":%b,"gap":%b,"store_id":'
                + dumps(store_id).encode().replace(b"%", b"%%")
                + b"}\n\n"
            )
        now_ms = time.time_ns() // 1_000_000
        if now_ms != self._time_ms:
            self._time_ms = now_ms
            self._time = format_timestamp(datetime.fromtimestamp(now_ms / 1000, UTC)).encode()
        return self._template % (
            self._time,
            b"null" if last_id is None else b"%d" % last_id,
            b"null" if earliest_id is None else b"%d" % earliest_id,
            b"true" if gap else b"false",
        )


class StreamEndpoint:
    """The ASGI app for one path; one call per SSE connection."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        settings = hub.settings
        self.recent_bounds = RecentBounds(hub)
        self.retry = RetryHint(settings.stream_retry_min_ms, settings.stream_retry_max_ms)
        self.ready = ReadyFrame(settings.heartbeat_seconds)
        self.reads = SharedReads(self._read_history)
        self.detail_reads = SharedReads(self._read_history_with_details)  # `?details=1` resumes
        self._full_logged_at = -FULL_LOG_SECONDS
        self._file_checked_at = -FILE_CHECK_SECONDS  # when the store's file was last found in place
        self._cors_origins = settings.stream_cors_origins  # the API's and the dashboard's, computed once
        self._plain_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One stream; an unexpected error is one log line and, before any byte was sent, a JSON 500."""
        started = [False]  # whether http.response.start went out

        async def first_send(message: AsgiMessage) -> None:
            started[0] = True
            await send(message)

        try:
            await self._serve(scope, receive, send, first_send, started)
        except Exception:
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started[0]:
                detail = "the hub hit an unexpected error; see its log"
                await error_response("internal_error", detail, 500)(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, first_send: Send, started: list[bool]) -> None:
        hub = self.hub
        last_event_header, origin = _stream_headers(scope)
        try:
            agents, last_event_id, books, details = self._parse(scope, last_event_header)
        except AgentchatError as error:
            await agentchat_error_response(error)(scope, receive, first_send)
            return
        headers = self._headers(origin)
        if scope["method"] == "HEAD":
            await first_send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await hub.connect_gate.admit()  # a bounded number of connects per loop iteration: see pacing.py
        if len(hub.fanout) >= hub.stream_cap:  # after the gate: streams admitted while this one waited count
            self._log_full()
            hub.metrics.streams_refused.labels("full").inc()
            await self._unavailable(
                first_send, headers, "hub_full", f"the hub holds its limit of {hub.stream_cap} streams"
            )
            return
        subscriber = self._subscribe(open_socket(send), agents, books, details)  # before reading history
        try:
            gap = False
            replay = b""
            covered_up_to = 0
            try:
                if last_event_id is None:
                    bounds = await self.recent_bounds.get()
                else:
                    bounds = await self.recent_bounds.get()
                    # The window keeps frames without details: a `?details=1` resume reads the store.
                    from_window = None if details else self._from_window(agents, last_event_id)
                    if from_window is not None:
                        hub.resume_counts.window += 1
                        bounds = self._window_bounds(bounds, from_window)
                        replay, covered_up_to, gap = from_window.frames, from_window.covered_up_to, from_window.gap
                    else:
                        reads = self.detail_reads if details else self.reads
                        history, shared = await reads.history(agents, last_event_id, hub.fanout.last_published_id)
                        if shared:
                            hub.resume_counts.store_shared += 1
                        else:
                            hub.resume_counts.store += 1
                        bounds, replay, covered_up_to, gap = (
                            history.bounds,
                            history.frames,
                            history.covered_up_to,
                            history.gap,
                        )
            except StoreUnavailable as error:
                hub.fanout.remove(subscriber)
                hub.metrics.streams_refused.labels("store").inc()
                await self._unavailable(first_send, headers, error.code, error.detail)
                return
            except AgentchatError as error:
                hub.fanout.remove(subscriber)
                await agentchat_error_response(error)(scope, receive, first_send)
                return
            body = self._first_body(bounds, gap, replay)
            started[0] = True
            if not subscriber.socket.start_at_once(headers, body):  # one write where the server allows it
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": True})
            self._go_live(subscriber, covered_up_to)
            while (await receive())["type"] != "http.disconnect":
                pass
        finally:
            hub.fanout.remove(subscriber)

    def open_at_once(
        self, scope: Scope, socket: StreamSocket, admitted: bool = False
    ) -> Callable[[], None] | asyncio.Future[None] | None:
        """The whole connect in this one step, when nothing in it needs waiting for; None: the ASGI route serves it.

        The server's protocol offers each GET of the stream's path here before it builds any ASGI
        machinery for it (`sockets/protocols.py`): no request task, no `receive` to wait on for the
        disconnect, the head and the first body written at once. Most connects need nothing more: a
        fresh one (the store's bounds as last read) or a resume from the frame window, under the
        stream cap. Anything else (a bad parameter, a resume the store must answer, the very first
        bounds, a full hub) is declined before anything is sent and takes the ASGI route, which
        waits, reads or refuses as it must. Returns what to call when the connection is lost; or,
        when this iteration's `ConnectGate` slice is full, the connect's turn at the gate: the
        protocol offers it again, `admitted`, once that future is done.
        """
        last_event_header, origin = _stream_headers(scope)
        try:
            agents, last_event_id, books, details = self._parse(scope, last_event_header)
        except AgentchatError:
            return None
        hub = self.hub
        if len(hub.fanout) >= hub.stream_cap:
            return None
        bounds = self.recent_bounds.now()
        if bounds is None:
            return None
        replay, covered_up_to, gap = b"", 0, False
        if last_event_id is not None:
            try:
                from_window = None if details else self._from_window(agents, last_event_id)
            except AgentchatError:
                return None
            if from_window is None:
                return None
            bounds = self._window_bounds(bounds, from_window)
            replay, covered_up_to, gap = from_window.frames, from_window.covered_up_to, from_window.gap
        if not admitted and not hub.connect_gate.try_admit():
            return hub.connect_gate.park()
        if last_event_id is not None:
            hub.resume_counts.window += 1
        subscriber = self._subscribe(socket, agents, books, details)
        if not socket.start_at_once(self._headers(origin), self._first_body(bounds, gap, replay)):
            hub.fanout.remove(subscriber)
            return None
        self._go_live(subscriber, covered_up_to)
        hub.fanout.stats.connected_at_once += 1
        return functools.partial(hub.fanout.remove, subscriber)

    def _subscribe(self, socket: StreamSocket, agents: frozenset[str] | None, books: bool, details: bool) -> Subscriber:
        """Register the stream with the fan-out, which collects its live frames until `_go_live`."""
        every_stream = self.hub.book_frames.every_stream  # the former behaviour: full books to every stream
        subscriber = self.hub.fanout.add(socket, agents, books or every_stream)
        subscriber.details = details  # `?details=1`: live frames carry each message's details
        return subscriber

    def _window_bounds(self, bounds: Bounds, from_window: WindowReplay) -> Bounds:
        """The bounds `ready` gives for a resume served from the window."""
        earliest_id = from_window.earliest_id if self.hub.window.floor == 0 else bounds.earliest_id
        return Bounds(earliest_id, max(bounds.last_id or 0, from_window.covered_up_to) or None)

    def _first_body(self, bounds: Bounds, gap: bool, replay: bytes) -> bytes:
        """`retry:`, `ready` and the replay: `retry:` in the ready block itself, as a block of its own is an
        empty message to some parsers."""
        ready = self.ready.build(self.hub.store_id, bounds.last_id, bounds.earliest_id, gap)
        return self.retry.line() + ready + replay

    def _go_live(self, subscriber: Subscriber, covered_up_to: int) -> None:
        """Headers and replay are out: live frames from here (a book stream's full books first)."""
        book_frames = self.hub.book_frames
        asked_for_books = subscriber.books and not book_frames.every_stream
        full_books = functools.partial(book_frames.full_frame, subscriber.agents) if asked_for_books else None
        self.hub.fanout.go_live(subscriber, covered_up_to, full_books)
        if full_books is not None:
            book_frames.catch_up()  # rounds this hub skipped while no stream asked for books

    def _from_window(self, agents: frozenset[str] | None, last_event_id: int) -> WindowReplay | None:
        """The replay from the frame window, or None when the store must answer.

        `Last-Event-ID: 0` is a client asking for the whole retained history (a dashboard's first
        stream), not a viewer catching up: the store, the authority on history, answers it, with
        whatever was written to it by other means too.

        Only while the bus delivers, and while the store (as last read, at most a second ago) has
        nothing newer than the window: a PostgreSQL listener that is away, or a message written
        to the store by other means, leaves the window behind the store, which has the news. A
        store that is plainly gone (its SQLite file removed, one `stat`) is answered as a store
        read would be, `event: unavailable`, so a viewer is not told all is well by a hub that can
        accept no message. The resumes of one millisecond (a storm brings thousands a second) share
        that `stat`.
        """
        hub = self.hub
        if last_event_id == 0 or hub.bus.status != "ok" or self.recent_bounds.stored_last_id > hub.window.last_id:
            return None
        now = time.monotonic()
        if now - self._file_checked_at > FILE_CHECK_SECONDS:
            hub.store.check_file()
            self._file_checked_at = now
        return hub.window.resume(last_event_id, agents)

    async def _read_history(self, agents: frozenset[str] | None, last_event_id: int) -> History:
        return await self.hub.in_thread(read_history, self.hub.store, agents, last_event_id)

    async def _read_history_with_details(self, agents: frozenset[str] | None, last_event_id: int) -> History:
        return await self.hub.in_thread(read_history, self.hub.store, agents, last_event_id, True)

    async def _unavailable(self, send: Send, headers: list[tuple[bytes, bytes]], code: str, detail: str) -> None:
        """200, `retry:` and `event: unavailable`, then the end: a browser's EventSource comes back after it."""
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = self.retry.line() + event_frame("unavailable", {"error": code, "detail": detail})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _log_full(self) -> None:
        now = time.monotonic()
        if now - self._full_logged_at >= FULL_LOG_SECONDS:
            self._full_logged_at = now
            logger.warning("stream cap of %d reached: new streams are told to come back later", self.hub.stream_cap)

    def _parse(self, scope: Scope, header: bytes | None) -> tuple[frozenset[str] | None, int | None, bool, bool]:
        """The agents filter, the Last-Event-ID, `books=1` and `details=1`, the query string parsed once."""
        query_string = scope.get("query_string", b"")
        if not query_string:  # the whole feed: a fresh connect, or a resume with only the header to read
            return None, None if header is None else parse_int(LAST_EVENT_ID, header.decode("latin-1")), False, False
        query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
        agents = parse_agents(query.get("agents", [""])[-1], self.hub.agent_ids)
        books = parse_flag("books", query.get("books", ["0"])[-1])
        # Both are checked and the header wins: a bad parameter is a 400 even beside a good header.
        in_query = query.get("last_event_id", [None])[-1]
        last_event_id = None if in_query is None else parse_int("last_event_id", in_query)
        if header is not None:  # an empty one too: EventSource sends none rather than an empty one
            last_event_id = parse_int(LAST_EVENT_ID, header.decode("latin-1"))
        return agents, last_event_id, books, _wants_details(query)

    def _headers(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        if origin and origin.decode("latin-1") in self._cors_origins:
            return [*self._plain_headers, (b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        return self._plain_headers


def _stream_headers(scope: Scope) -> tuple[bytes | None, bytes | None]:
    """`Last-Event-ID` and `Origin` in one pass over the request headers (the last of each wins)."""
    last_event_id = origin = None
    for name, value in scope["headers"]:
        if name == b"last-event-id":
            last_event_id = value
        elif name == b"origin":
            origin = value
    return last_event_id, origin


def _wants_details(query: dict[str, list[str]]) -> bool:
    """`?details=1` (or `true`): this stream's live message frames carry `details` (SPEC section 4).

    The last `details` with a value decides; a blank one (`details=`) is not a value.
    """
    given = [value for value in query.get("details", ()) if value]
    return bool(given) and given[-1].lower() in ("1", "true")


def parse_flag(name: str, raw: str) -> bool:
    """`1` or `0` (an empty value is `0`); anything else is a 400 that says so."""
    if raw in ("", "0"):
        return False
    if raw == "1":
        return True
    raise BadRequest(f"{name} must be 1 or 0, got {raw[:40]!r}")
