"""The interface between the fan-out and the server: what one live SSE stream's connection can do.

The fan-out (`hub/fanout.py`) decides *what* each stream gets and when a stream is too slow
to keep; a `StreamSocket` decides *how* bytes reach the client. The fan-out's whole
conversation with a connection is four calls:

- `offer(chunk)` hands a chunk over without waiting and says what happened (`Write`):
  written, taken but the socket must drain before the next one, not taken because the
  socket is full, or the client is gone.
- `drain()` waits until the socket can take more (finishing a write it took but could not
  complete) and says whether the client is still there.
- `end()` finishes the response cleanly when that needs no waiting (shutdown), else aborts.
- `abort()` closes the connection now, without flushing (a slow client cut off).

`headers_sent()` tells the socket that the headers and the replay are out and live chunks
follow, so it may pick its fastest route then. Two implementations: `asgi.AsgiSocket` for
any ASGI server, and `uvicorn.UvicornSocket` for the server we ship with. Tests drive the
fan-out with a fake of this interface: it is the edge between our code and the server's.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

__all__ = ["DONE", "FULL", "GONE", "PENDING", "Chunk", "StreamSocket", "Write", "http_chunk"]


class Write(enum.Enum):
    """What became of a chunk handed to `StreamSocket.offer`."""

    DONE = "done"  # written; the socket can take more at once
    PENDING = "pending"  # taken, but the socket must drain before it takes more
    FULL = "full"  # not taken: the socket must drain first
    GONE = "gone"  # not taken: the client has gone, and its request handler cleans up


DONE, PENDING, FULL, GONE = Write  # plain names for the hot path (see `hub/fanout.py` on enum reads)


def http_chunk(raw: bytes) -> bytes:
    """`raw` as one chunk of HTTP chunked transfer encoding."""
    return b"%x\r\n%b\r\n" % (len(raw), raw)


class Chunk:
    """Bytes for one or more frames, and the same bytes framed for HTTP chunked encoding.

    One chunk goes to every stream with the same filter, so the framing is done once per
    batch, not once per client.
    """

    __slots__ = ("count", "framed", "raw")

    def __init__(self, raw: bytes, count: int) -> None:
        self.raw = raw
        self.count = count  # messages in it (0 for a heartbeat or a backlog)
        self.framed = http_chunk(raw)


class StreamSocket(ABC):
    """The connection under one SSE response, once its headers are sent (see the module docstring)."""

    __slots__ = ()

    def headers_sent(self) -> None:  # noqa: B027 - optional hook
        """The headers and the replay are out; live chunks follow."""

    def start_at_once(self, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        """Send a 200's headers and the first body in one write, when the server allows it; False: send them."""
        return False

    @abstractmethod
    def offer(self, chunk: Chunk) -> Write:
        """Hand `chunk` over without waiting. Raises when the connection broke under us."""

    @abstractmethod
    async def drain(self) -> bool:
        """Wait until the socket can take more; False when the client has gone."""

    @abstractmethod
    def end(self) -> None:
        """End the response cleanly if that needs no waiting, else abort the connection."""

    @abstractmethod
    def abort(self) -> None:
        """Close the connection now, without flushing what is buffered."""
