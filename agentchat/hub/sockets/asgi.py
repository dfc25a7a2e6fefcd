"""The plain-ASGI socket: a live stream written through the server's `send`, for any ASGI server.

Awaiting `send` for every client would cost a coroutine and, when the server yields, an
event-loop wake-up per delivery. So `offer` *steps* the `send` coroutine once: when the
socket has room the server writes and the coroutine finishes in that one step, with no
wake-up; when it suspends (the server waits for the socket to drain) the half-done send is
kept, the chunk counts as taken (`Write.PENDING`), and `drain` finishes it.

A plain ASGI server offers no way to drop a connection, so `abort` does nothing here: the
stream's frames are forgotten and the client's own disconnect ends its request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

from starlette.types import Send

from agentchat.hub.sockets.base import DONE, PENDING, Chunk, StreamSocket, Write

__all__ = ["AsgiSocket"]


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


class AsgiSocket(StreamSocket):
    """A stream written by stepping the ASGI `send` (see the module docstring)."""

    __slots__ = ("_stalled", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self._stalled: _Suspended | None = None  # a send that waits for the socket to drain

    def offer(self, chunk: Chunk) -> Write:
        stalled = _start_send(self.send, _body(chunk.raw))
        if stalled is None:
            return DONE
        self._stalled = stalled
        return PENDING

    async def drain(self) -> bool:
        stalled, self._stalled = self._stalled, None
        if stalled is not None:
            await stalled
        return True

    def end(self) -> None:
        try:
            stalled = _start_send(self.send, _body(b"", more_body=False))
        except Exception:  # the connection is broken already: nothing left to end
            return
        if stalled is not None:
            stalled.close()
            self.abort()

    def abort(self) -> None:
        """Nothing to do on a plain ASGI server (see the module docstring)."""
