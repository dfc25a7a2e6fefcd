"""uvicorn's HTTP protocols: the request head bounded before it is parsed, and the stream's GET opened at once.

uvicorn hands every received chunk to its parser at once: httptools accumulates a header or a
URL of any size (at a cost that grows faster than its size), and h11 buffers a head up to its
incomplete-event limit but only looks at that limit when it tries to parse. Both protocols are
subclassed here, the only code besides `uvicorn.py` that knows uvicorn's internals, so that:

- the bytes of a head are counted in `data_received` *before* the parser sees them, and past
  `HeadWatch.max_head_bytes` the connection is answered 431 and closed; the parser never sees
  more than the limit and one more chunk. A chunk that ends a head and carries a body counts
  only up to the blank line, so a body's size stays the route's to judge (413);
- a connection waiting for a head (just opened, or idle after a response) is registered with the
  hub's `HeadWatch`, which gives it a deadline and a place in the descriptor budget;
- bytes that arrive while a response is in progress (a pipelined head, or bytes sent up a
  stream) are counted as the next head, and refusing them closes the connection without a
  response, since one is already under way.

Under httptools the protocol also offers each plain GET of the SSE stream's path to the app's
`open_stream_at_once` (`HubApp`) as soon as its head is parsed, before uvicorn builds a request
cycle and an ASGI task for it. Most connects (fresh, or a resume from the frame window) are
opened there in one step: the guard, the head and first body in one write, the stream registered
with the fan-out on a `ConnectionSocket`, and the connection's loss is what removes it. No task
waits on `receive` for the disconnect; that task and its cycle were a third of a connect's CPU in
a reconnect storm (`bench/storm.py`). The app declines what needs waiting or a refusal, and uvicorn
then serves the request as any other. A connect past this iteration's `ConnectGate` slice gets a
turn (a future) instead: the connection stops reading until it comes, then the GET is offered again,
admitted, and one declined by then is handed to uvicorn as if just parsed. A head pipelined behind
such a stream is never served (as uvicorn leaves one queued behind a response in progress; one
sent while the stream waits for its turn closes the connection), and with an access log the line
uvicorn's cycle would write is written here.

`http_protocol(name)` maps `AGENTCHAT_HUB_HTTP` (auto, httptools, h11) to the class to give
uvicorn. The watch is found through the app uvicorn serves (`config.app.hub.heads`); an app
without one gets a watch of its own with the defaults and no budget.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from agentchat.contract import STREAM_PATH
from agentchat.errors import error_body
from agentchat.hub.heads import HeadWatch
from agentchat.hub.sockets.base import StreamSocket
from agentchat.hub.sockets.uvicorn import ConnectionSocket
from agentchat.message import dumps

__all__ = ["BoundedH11Protocol", "HeadBound", "http_protocol"]

_HEAD_END = b"\r\n\r\n"
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
_DEFAULT_HEAD_TIMEOUT_SECONDS = 10.0
_STREAM_PATH = STREAM_PATH.encode()

# The app's offer to serve a stream's GET itself: given the request's scope, the connection's socket and
# whether the connect gate admitted it already, what to call when the connection is lost, a turn at the
# gate to wait for (then it is offered again, admitted), or None to let the ASGI app serve the request.
StreamOpener = Callable[[Any, StreamSocket, bool], Callable[[], None] | asyncio.Future[None] | None]

logger = logging.getLogger("agentchat.hub")


def _watch_of(config: Any) -> HeadWatch:
    watch = getattr(getattr(config.app, "hub", None), "heads", None)
    if isinstance(watch, HeadWatch):
        return watch
    fallback = getattr(config, "_agentchat_head_watch", None)
    if fallback is None:
        fallback = HeadWatch(_DEFAULT_HEAD_TIMEOUT_SECONDS, budget=lambda: 1 << 30)
        config._agentchat_head_watch = fallback
    return fallback


class _Busy(Protocol):
    def busy(self) -> bool:
        """Whether a response is in progress on the connection."""


class HeadBound:
    """One connection's current head: its bytes counted, its refusal written (see the module docstring)."""

    __slots__ = ("_tail", "counted", "counting", "protocol", "transport", "watch")

    def __init__(self, watch: HeadWatch, transport: asyncio.Transport, protocol: _Busy) -> None:
        self.watch = watch
        self.transport = transport
        # Asked whether a response is in progress. Held weakly: the protocol holds this object, and a cycle
        # would keep every closed connection alive until the (deliberately rare) cycle collection.
        self.protocol = weakref.ref(protocol)
        self.counting = True
        self.counted = 0
        self._tail = b""

    def waiting(self) -> None:
        """The connection waits for a head (connect, or a response finished): deadline and budget apply."""
        self.count_from_now()
        if not self.transport.is_closing():
            self.watch.waiting(self)

    def count_from_now(self) -> None:
        self.counting = True
        self.counted = 0
        self._tail = b""

    def arrived(self) -> None:
        """A head was parsed: the next bytes are its body, until the parser says the message is complete."""
        self.counting = False
        self.watch.arrived(self)

    def gone(self) -> None:
        self.watch.arrived(self)

    def admit(self, data: bytes) -> bool:
        """Whether `data` may go to the parser; False once the head is over the limit (refused, closing)."""
        if self.transport.is_closing():
            return False
        if not self.counting:
            return True
        seen = self._tail + data
        end = seen.find(_HEAD_END)
        self.counted += len(data) if end < 0 else max(0, end + len(_HEAD_END) - len(self._tail))
        self._tail = data[-3:]
        if self.counted <= self.watch.max_head_bytes:
            return True
        self.watch.too_large(self)
        return False

    def refuse(self, status: int | None, code: str, detail: str) -> None:
        """Close the connection; with a status, answer first unless a response is already under way
        or nothing of a head was sent (an idle connection is closed as a keep-alive timeout closes it)."""
        if self.transport.is_closing():
            return
        protocol = self.protocol()
        if status is not None and self.counted and not (protocol is not None and protocol.busy()):
            body = dumps(error_body(code, detail)).encode()
            self.transport.write(
                b"HTTP/1.1 %d %b\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%b" % (status, _REASONS.get(status, b""), len(body), body)
            )
            self.transport.close()
        else:
            self.transport.abort()


class _ProtocolParts(asyncio.Protocol):
    """What `_HeadBounded` uses of uvicorn's HTTP protocols, both of which have it (for the type checker only)."""

    config: Config
    cycle: Any  # each protocol's own RequestResponseCycle, or None between requests

    def connection_made(self, transport: asyncio.Transport) -> None: ...  # type: ignore[override]

    def on_response_complete(self) -> None: ...


# At run time the mixin's base is asyncio.Protocol, so that `super()` in it reaches uvicorn's protocol.
if TYPE_CHECKING:
    _MixinBase = _ProtocolParts
else:
    _MixinBase = asyncio.Protocol


class _HeadBounded(_MixinBase):
    """The bounding both protocols share; each adds where its parser says a head arrived and a message ended."""

    _head: HeadBound

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head = HeadBound(_watch_of(self.config), transport, self)
        self._head.waiting()

    def busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        if self._head.admit(data):
            super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.busy():
            self._head.waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head.gone()
        super().connection_lost(exc)


class BoundedH11Protocol(_HeadBounded, H11Protocol):
    """uvicorn's h11 protocol, its heads bounded (see the module docstring)."""

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:
            self._head.arrived()
        if self.conn.their_state in (h11.IDLE, h11.DONE) and not self._head.counting:
            self._head.count_from_now()  # what follows is the next request's head


def _httptools_class() -> type[asyncio.Protocol] | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency, but uvicorn runs without it
        return None

    class BoundedHttpToolsProtocol(_HeadBounded, HttpToolsProtocol):
        """uvicorn's httptools protocol, its heads bounded, and the stream's GET served at once where the app
        can (see the module docstring)."""

        _stream_lost: Callable[[], None] | None = None  # set while this connection carries a stream served here
        _turn: asyncio.Future[None] | None = None  # set while its stream waits for a turn at the hub's connect gate

        def on_headers_complete(self) -> None:
            self._head.arrived()
            if self._turn is not None:  # a head pipelined behind a stream still waiting to open: a broken client
                self.transport.abort()
                return
            if self._stream_lost is not None:
                # A head pipelined behind an endless stream is never served, as uvicorn queues one behind a
                # response in progress; reading pauses, as it does there.
                self.flow.pause_reading()
                return
            if not self._opened_stream_at_once():
                super().on_headers_complete()

        def _opened_stream_at_once(self) -> bool:
            """Offer a plain GET of the stream's path to the app's `open_stream_at_once`; False: uvicorn serves it."""
            parser = self.parser
            path, _, query = self.url.partition(b"?")
            if (
                path != _STREAM_PATH
                or parser.get_method() != b"GET"
                or b"#" in query
                or self.busy()  # pipelined behind a response in progress
                or self.expect_100_continue
                or self.limit_concurrency is not None
                or parser.get_http_version() != "1.1"
                or not parser.should_keep_alive()
                or parser.should_upgrade()
            ):
                return False
            scope = self.scope
            scope["method"] = "GET"
            scope["path"] = STREAM_PATH
            scope["raw_path"] = _STREAM_PATH
            scope["query_string"] = query
            return self._offer_stream(admitted=False)

        def _offer_stream(self, admitted: bool) -> bool:
            """The app opens the stream, declines it (False: uvicorn serves it) or hands back a turn to wait for."""
            opener = _stream_opener_of(self.config)
            if opener is None:
                return False
            socket = ConnectionSocket(self.transport, self.flow, self.server_state.default_headers)
            try:
                opened = opener(self.scope, socket, admitted)
            except Exception:  # logged for the operator; the client comes back as after any broken stream
                logger.exception("unexpected error opening a stream")
                self.transport.abort()
                return True
            if opened is None:
                return False
            if isinstance(opened, asyncio.Future):
                self._turn = opened
                self.flow.pause_reading()  # nothing more is parsed meanwhile: the request stays the parser's
                opened.add_done_callback(self._turn_came)
                return True
            self._stream_lost = opened
            if self.access_log:  # the line uvicorn's cycle writes for a response it starts
                scope = self.scope
                client, target = get_client_addr(scope), get_path_with_query_string(scope)
                self.access_logger.info('%s - "%s %s HTTP/%s" %d', client, "GET", target, "1.1", 200)
            return True

        def _turn_came(self, turn: asyncio.Future[None]) -> None:
            """Admitted by the gate: offered again; declined now (the hub filled up meanwhile, the window moved),
            it is served as uvicorn would have served it, its head parsed and its message complete."""
            self._turn = None
            if turn.cancelled() or self.transport.is_closing():
                return
            self.flow.resume_reading()
            if not self._offer_stream(admitted=True):
                super().on_headers_complete()
                super().on_message_complete()

        def busy(self) -> bool:
            return self._stream_lost is not None or self._turn is not None or super().busy()

        def on_body(self, body: bytes) -> None:
            if self._stream_lost is None and self._turn is None:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if self._stream_lost is None and self._turn is None:
                super().on_message_complete()
            self._head.count_from_now()  # what follows is the next request's head

        def connection_lost(self, exc: Exception | None) -> None:
            lost, self._stream_lost = self._stream_lost, None
            if lost is not None:
                lost()
            if self._turn is not None:
                self._turn.cancel()  # its place at the gate goes to the next connect
            super().connection_lost(exc)

    return BoundedHttpToolsProtocol


def _stream_opener(config: Any) -> StreamOpener | None:
    opener = getattr(config.app, "open_stream_at_once", None)
    return opener if callable(opener) else None


def _stream_opener_of(config: Any) -> StreamOpener | None:
    """The served app's `open_stream_at_once`, looked up once per server config."""
    try:
        return config._agentchat_stream_opener  # type: ignore[no-any-return]
    except AttributeError:
        opener = config._agentchat_stream_opener = _stream_opener(config)
        return opener


BoundedHttpToolsProtocol = _httptools_class()


def http_protocol(name: str) -> type[asyncio.Protocol]:
    """The protocol class for `AGENTCHAT_HUB_HTTP`: `auto` is httptools where installed, as uvicorn's own auto."""
    if name == "h11" or BoundedHttpToolsProtocol is None:
        return BoundedH11Protocol
    return BoundedHttpToolsProtocol
