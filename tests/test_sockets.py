"""The two `StreamSocket`s: the plain-ASGI one against a scripted ASGI `send`, and which one uvicorn gets.

An ASGI `send` is the server's edge, so a scripted one stands in for a server here. Which
socket a real stream gets is checked against real uvicorn, in a thread on a free port,
under each of its HTTP protocols.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, MutableMapping
from types import SimpleNamespace
from typing import Any

import pytest

from agentchat.hub.fanout import Mode
from agentchat.hub.sockets import AsgiSocket, Chunk, UvicornSocket, Write, open_socket
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.waits import wait_until


class ScriptedSend:
    """An ASGI `send` that completes at once, or waits until the test lets it finish."""

    def __init__(self, waits: bool = False) -> None:
        self.waits = waits
        self.sent: list[MutableMapping[str, Any]] = []
        self.finished: list[MutableMapping[str, Any]] = []
        self.room = asyncio.Event()

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)
        if self.waits:
            await self.room.wait()
        self.finished.append(message)


def body(raw: bytes, more_body: bool = True) -> dict[str, Any]:
    return {"type": "http.response.body", "body": raw, "more_body": more_body}


def test_asgi_socket_write_that_completes_at_once_is_done_in_one_step() -> None:
    async def scenario() -> None:
        send = ScriptedSend()
        socket = AsgiSocket(send)
        assert socket.offer(Chunk(b"data: 1\n\n", 1)) is Write.DONE
        assert send.finished == [body(b"data: 1\n\n")]

    asyncio.run(scenario())


def test_asgi_socket_send_that_waits_is_pending_until_drain_finishes_it() -> None:
    async def scenario() -> None:
        send = ScriptedSend(waits=True)
        socket = AsgiSocket(send)
        assert socket.offer(Chunk(b"data: 1\n\n", 1)) is Write.PENDING
        assert send.sent == [body(b"data: 1\n\n")] and send.finished == []
        draining = asyncio.ensure_future(socket.drain())
        await asyncio.sleep(0)
        assert not draining.done()
        send.room.set()
        assert await draining is True
        assert send.finished == [body(b"data: 1\n\n")]
        assert await socket.drain() is True  # nothing left to finish

    asyncio.run(scenario())


def test_asgi_socket_end_sends_the_final_empty_body() -> None:
    async def scenario() -> None:
        send = ScriptedSend()
        AsgiSocket(send).end()
        assert send.finished == [body(b"", more_body=False)]

    asyncio.run(scenario())


def test_asgi_socket_end_abandons_a_final_body_that_would_wait() -> None:
    async def scenario() -> None:
        send = ScriptedSend(waits=True)
        AsgiSocket(send).end()
        assert send.sent == [body(b"", more_body=False)] and send.finished == []

    asyncio.run(scenario())


def test_a_send_that_is_not_uvicorns_gets_the_asgi_socket() -> None:
    socket = open_socket(ScriptedSend())
    assert type(socket) is AsgiSocket


@pytest.mark.parametrize(("http", "direct"), [("httptools", True), ("h11", False)])
def test_uvicorn_streams_go_straight_to_the_socket_under_httptools_and_through_send_under_h11(
    start_hub: Callable[..., InProcessHub], http: str, direct: bool
) -> None:
    hub = start_hub(hub_http=http)
    app = hub.app
    assert app is not None
    with web.stream("GET", f"{hub.url}/api/chat/stream") as response:
        lines = response.iter_lines()  # kept: a collected iterator would close the stream
        assert next(lines).startswith("retry: ")
        wait_until(lambda: len(app.hub.fanout) == 1)
        (subscriber,) = tuple(app.hub.fanout.subscribers)
        wait_until(lambda: subscriber.mode is Mode.IDLE)
        assert isinstance(subscriber.socket, UvicornSocket)
        assert subscriber.socket.direct is direct
        assert (subscriber.socket.sock is not None) is direct  # the direct route sends on the socket itself
        made = hub.generate(["claude_arbitrage"]).json()["messages"][0]["id"]
        assert any(line == f"id: {made}" for line in lines)


class _TlsTransport:
    """What a TLS transport answers: a socket under it, and the TLS object over it."""

    def __init__(self) -> None:
        self.plain = socket.socket()
        self.written: list[bytes] = []

    def get_extra_info(self, name: str) -> Any:
        return {"socket": self.plain, "ssl_object": object()}.get(name)

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.written.append(data)


def test_under_tls_a_live_chunk_goes_through_the_transport_never_onto_the_socket_under_it() -> None:
    transport = _TlsTransport()
    cycle = SimpleNamespace(
        transport=transport,
        flow=SimpleNamespace(write_paused=False),
        disconnected=False,
        chunked_encoding=True,
    )
    try:
        uvicorn_socket = UvicornSocket(ScriptedSend(), cycle, cycle.transport, cycle.flow)
        uvicorn_socket.headers_sent()
        assert uvicorn_socket.direct and uvicorn_socket.sock is None
        assert uvicorn_socket.offer(Chunk(b"data: 1\n\n", 1)) is Write.DONE
        assert transport.written == [Chunk(b"data: 1\n\n", 1).framed]
    finally:
        transport.plain.close()
