"""The uvicorn socket: the only code that knows uvicorn's internals.

Under uvicorn (the server we ship with) an ASGI `send` is a bound method of the request
cycle (`send.__self__`), which holds the connection's `transport`, its flow control (`flow`,
with `write_paused` and `drain()`) and a `disconnected` flag. This socket uses them so:

- Under the httptools protocol (uvicorn's default when httptools is installed, as here),
  once the headers are sent, each live chunk is framed for HTTP chunked encoding once per
  batch (`Chunk.framed`; httptools frames every body of ours that way, as we never send a
  Content-Length) and written with one system call: no `send()` coroutine, no event-loop
  wake-up. That is the floor the machine allows. It goes out by `send(2)` on the connection's
  socket itself whenever the transport holds nothing unsent (`_BorrowedSocket`): the same bytes
  as `transport.write`, without the transport's buffering layer or the kernel's file layer of
  `write(2)` (0.4-0.9 µs less hub CPU per delivery at N = 1,000, alternating runs of
  `bench/fanout.py`'s load; never under TLS, where the socket carries the transport's records). The
  transport stays the socket's owner: the borrowed socket never
  closes it and is used only while the transport is not closing (a transport marks itself
  closing before uvicorn hears the connection was lost and before the descriptor is closed, so
  a descriptor number the kernel has given to another connection is never written); whatever
  the kernel does not take at once (a full buffer, an error) goes to `transport.write`, which
  queues it or fails the connection exactly as before, and while the transport holds bytes
  every chunk goes behind them. A paused transport (uvicorn's `flow.write_paused`, only while
  it holds bytes) refuses the chunk (`Write.FULL`) and `drain()` waits on uvicorn's flow
  control.
- Under the h11 protocol (or when the cycle lacks any of those) live chunks take the plain
  ASGI route of `AsgiSocket`, which steps h11's `send`.
- Under either protocol the socket can really be aborted (`transport.abort()`), which also
  wakes the stream's request handler with `http.disconnect`, and the kernel's send buffer is
  capped (`KERNEL_SEND_BUFFER_BYTES`) once the stream goes live. Linux would otherwise let it
  grow to megabytes for a client that stopped reading, so a stalled viewer could pin far more
  memory than the fan-out's backlog bound and would take minutes of traffic to be noticed. SSE
  frames are small; the cap costs a reader nothing.

- Under httptools a stream's start (`start_at_once`) is one write too: the status line, uvicorn's
  default headers (`Date`, `Server`, refreshed by uvicorn once a second), ours and the first body
  (`retry:`, `ready`, the replay), framed as uvicorn would frame them, with the cycle's state set as
  its `send` would set it. Two `send` calls would parse and check the same constant headers on every
  connect and make two syscalls; this is what makes a connect cheap in a reconnect storm
  (`bench/storm.py`). With an access log, a `Connection: close` request or anything unexpected it
  answers False and the stream takes the two sends.

`attach` returns None when `send` is not uvicorn's; then `AsgiSocket` serves alone. A stream the
protocol opened itself, with no ASGI cycle under it (`protocols.py`), is a `ConnectionSocket`: the
direct route from its first byte.
"""

from __future__ import annotations

import _socket
import contextlib
import socket
from typing import Any

from starlette.types import Send

from agentchat.hub.sockets.asgi import AsgiSocket
from agentchat.hub.sockets.base import DONE, FULL, GONE, Chunk, Write

__all__ = ["ConnectionSocket", "UvicornSocket"]

KERNEL_SEND_BUFFER_BYTES = 64 * 1024
STATUS_200 = b"HTTP/1.1 200 OK\r\n"


class _Heads:
    """The response head for a header list, kept while uvicorn's default headers are the same list."""

    def __init__(self) -> None:
        self._defaults: object = None
        self._heads: dict[tuple[tuple[bytes, bytes], ...], bytes] = {}

    def head(self, defaults: list[tuple[bytes, bytes]], headers: list[tuple[bytes, bytes]]) -> bytes:
        if defaults is not self._defaults:  # uvicorn made a new list: a new Date
            self._defaults, self._heads = defaults, {}
        key = tuple(headers)
        head = self._heads.get(key)
        if head is None:
            lines = [STATUS_200]
            lines += [name.lower() + b": " + value + b"\r\n" for name, value in (*defaults, *headers)]
            lines.append(b"transfer-encoding: chunked\r\n\r\n")
            head = self._heads[key] = b"".join(lines)
            if len(self._heads) > 64:  # distinct CORS origins: a handful; never an unbounded cache
                self._heads = {key: head}
        return head


HEADS = _Heads()


class _BorrowedSocket(_socket.socket):
    """The connection's descriptor, wrapped to call `send(2)` on it; it never closes it (the transport does)."""

    __slots__ = ()

    def __del__(self) -> None:
        self.detach()  # forget the descriptor: a plain socket object would close it when collected


def _borrow(sock: Any) -> _BorrowedSocket | None:
    """A `_BorrowedSocket` on the descriptor of the transport's `sock` (its `socket` extra), or None."""
    try:
        return _BorrowedSocket(sock.family, sock.type, sock.proto, sock.fileno())
    except (AttributeError, OSError, ValueError):
        return None


class UvicornSocket(AsgiSocket):
    """A stream on uvicorn: the direct route under httptools, the ASGI route under h11 (see above)."""

    __slots__ = ("cycle", "direct", "flow", "sock", "transport")

    def __init__(self, send: Send, cycle: Any, transport: Any, flow: Any) -> None:
        super().__init__(send)
        self.cycle = cycle
        self.transport = transport
        self.flow = flow
        self.direct = False  # chunks straight to the connection, from `headers_sent` on
        self.sock: _BorrowedSocket | None = None  # the direct route's `send(2)` (None: `transport.write` only)

    @classmethod
    def attach(cls, send: Send) -> UvicornSocket | None:
        """The socket behind uvicorn's `send`, or None when the server is not uvicorn."""
        cycle: Any = getattr(send, "__self__", None)
        if (
            getattr(cycle, "transport", None) is None
            or not isinstance(getattr(getattr(cycle, "flow", None), "write_paused", None), bool)
            or not isinstance(getattr(cycle, "disconnected", None), bool)
        ):
            return None
        return cls(send, cycle, cycle.transport, cycle.flow)

    def headers_sent(self) -> None:
        self.direct = getattr(self.cycle, "chunked_encoding", None) is True  # httptools, body chunked
        self._borrow_socket()

    def _borrow_socket(self) -> None:
        """Borrow the descriptor for the direct route, and cap the kernel's send buffer (through it when borrowed:
        the transport's own socket object makes a socket object of its own for each option set)."""
        transport = self.transport
        if transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        # Never under TLS: the socket under a TLS transport carries its records, not our bytes.
        if self.direct and transport.get_extra_info("ssl_object") is None:
            self.sock = _borrow(sock)
        if sock is not None:
            with contextlib.suppress(OSError):
                (self.sock or sock).setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER_BYTES)

    def start_at_once(self, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        cycle = self.cycle
        if (
            getattr(cycle, "response_started", True) is not False
            or getattr(cycle, "chunked_encoding", False) is not None  # not httptools' cycle, or a length set
            or getattr(cycle, "keep_alive", False) is not True
            or getattr(cycle, "access_log", True) is not False
            or not isinstance(getattr(cycle, "default_headers", None), list)
            or cycle.disconnected
            or self.flow.write_paused
        ):
            return False
        cycle.response_started = True  # as uvicorn's send would leave the cycle
        cycle.waiting_for_100_continue = False
        cycle.chunked_encoding = True
        self.transport.write(HEADS.head(cycle.default_headers, headers) + b"%x\r\n%b\r\n" % (len(body), body))
        return True

    def offer(self, chunk: Chunk) -> Write:
        if not self.direct:
            return super().offer(chunk)
        transport = self.transport
        if transport.is_closing():  # disconnected, or about to be: its descriptor may be gone
            return GONE
        framed = chunk.framed
        sock = self.sock
        if sock is None or transport.get_write_buffer_size():  # never beside bytes the transport holds
            if self.flow.write_paused:  # (paused only while it holds some)
                return FULL
            transport.write(framed)
            return DONE
        try:
            sent = sock.send(framed)  # the common case: one system call, nothing else
        except OSError:  # a full buffer or a broken connection: the transport deals with it as ever
            sent = 0
        if sent != len(framed):
            transport.write(framed[sent:] if sent else framed)
        return DONE

    async def drain(self) -> bool:
        if not self.direct:
            return await super().drain()
        await self.flow.drain()  # uvicorn resumes it when the connection is lost, too
        return not self.cycle.disconnected

    def abort(self) -> None:
        self.transport.abort()


class ConnectionSocket(UvicornSocket):
    """A stream the server's protocol serves itself (`StreamEndpoint.open_at_once`): no ASGI cycle under it.

    The connection is httptools' and the body chunked from the start, so the direct route is the only
    route: the head and first body in one write with uvicorn's default headers, then `send(2)` or
    `transport.write` per chunk. A lost connection shows as the transport closing (uvicorn resumes
    its flow control then, so `drain` returns); `end` writes the last chunk and closes, as it is
    called only when the hub shuts down.
    """

    __slots__ = ("default_headers",)

    def __init__(self, transport: Any, flow: Any, default_headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(_no_send, None, transport, flow)
        self.direct = True
        self.default_headers = default_headers

    def headers_sent(self) -> None:
        self._borrow_socket()

    def start_at_once(self, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        if self.transport.is_closing():
            return False
        self.transport.write(HEADS.head(self.default_headers, headers) + b"%x\r\n%b\r\n" % (len(body), body))
        return True

    async def drain(self) -> bool:
        await self.flow.drain()
        return not self.transport.is_closing()

    def end(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(b"0\r\n\r\n")
            self.transport.close()


async def _no_send(_message: Any) -> None:
    raise RuntimeError("a stream served by the protocol has no ASGI send")
