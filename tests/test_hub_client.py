"""HubClient: what goes on the wire, the hub's answers read into our errors, failures in words.

The hub itself is tested elsewhere; here the other side is a real hub where one will do, and a
socket server of a few lines where the test needs a hub that misbehaves (silence, a reset).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from agentchat.agents import BUILTIN_ROSTER
from agentchat.contract import GENERATE_PATH, MESSAGES_PATH, STREAM_PATH
from agentchat.errors import (
    AgentchatError,
    NotFound,
    PayloadTooLarge,
    RequestRefused,
    StoreUnavailable,
    Unauthorized,
    UnknownAgent,
)
from agentchat.http_errors import TOKEN_HINT, describe_error, describe_response, refusal
from agentchat.hub_client import HubClient
from tests.kit.hubs import HubProcess
from tests.kit.ports import free_port

SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
EMPTY_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
Handler = Callable[[socket.socket, bytes], object]  # what it returns is not used


class SocketServer:
    """Accepts connections on 127.0.0.1 and hands each, with its request head, to `handler` in a thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.heads: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                head += chunk
            self.heads.append(head)
            threading.Thread(target=self._handle, args=(connection, head), daemon=True).start()

    def _handle(self, connection: socket.socket, head: bytes) -> None:
        with connection:
            self.handler(connection, head)

    def close(self) -> None:
        self.done.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept; closing alone would not
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], SocketServer]]:
    servers: list[SocketServer] = []

    def start(handler: Handler) -> SocketServer:
        servers.append(SocketServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def header_lines(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}


def request_line(head: bytes) -> str:
    return head.decode("latin-1").split("\r\n", 1)[0]


# -- what goes on the wire ----------------------------------------------------------------------------


def test_the_token_goes_with_generate_only(serve: Callable[[Handler], SocketServer]) -> None:
    server = serve(lambda connection, _head: connection.sendall(EMPTY_OK))
    with HubClient(server.url, token="s3cret") as hub:
        hub.messages(since_id=5)
        hub.agents()
        hub.health()
        hub.generate(idempotency_key="round-1")
    *reads, generate = [header_lines(head) for head in server.heads]
    assert all("authorization" not in headers for headers in reads)
    assert generate["authorization"] == "Bearer s3cret"
    assert generate["idempotency-key"] == "round-1"
    assert request_line(server.heads[-1]) == f"POST {GENERATE_PATH} HTTP/1.1"


def test_a_stream_asks_for_events_from_the_given_id_with_the_agent_filter(
    serve: Callable[[Handler], SocketServer],
) -> None:
    server = serve(lambda connection, _head: connection.sendall(SSE_HEAD + b"0\r\n\r\n"))
    with HubClient(server.url) as hub:
        hub.open_stream(last_event_id=7, agent_ids=["a", "b"]).close()
        hub.messages(since_id=3, agent_ids=["a"], etag='"3"')
    stream, poll = server.heads
    assert request_line(stream) == f"GET {STREAM_PATH}?agents=a%2Cb HTTP/1.1"
    assert header_lines(stream)["last-event-id"] == "7"
    assert header_lines(stream)["accept"] == "text/event-stream"
    assert request_line(poll) == f"GET {MESSAGES_PATH}?since_id=3&limit=1000&agents=a HTTP/1.1"
    assert header_lines(poll)["if-none-match"] == '"3"'


def test_a_real_hub_answers_each_method(start_hub: Callable[..., HubProcess]) -> None:
    hub = start_hub(generate_token="s3cret")
    with HubClient(hub.url, token="s3cret") as client:
        made = client.generate(["claude_arbitrage"])
        assert made.status_code == 201
        stream = client.open_stream(last_event_id=0)
        try:
            assert stream.is_event_stream
            events = stream.events()
            assert next(events).event == "ready"
            assert stream.retry_milliseconds == 3000  # the contract's default
            assert next(events).event == "message"
        finally:
            stream.close()
        assert client.messages().json()["messages"] == made.json()["messages"]
        assert client.health().json()["status"] == "ok"
        assert len(client.agents().json()) == len(BUILTIN_ROSTER)
    with HubClient(hub.url) as client:
        refused = client.generate()
    assert isinstance(refusal(refused, "no token"), Unauthorized)


# -- a stream's read timeout ---------------------------------------------------------------------------


def silent_after_retry(connection: socket.socket, _head: bytes) -> None:
    frame = b"retry: 3000\n\n"
    connection.sendall(SSE_HEAD + b"%x\r\n%s\r\n" % (len(frame), frame))
    connection.recv(1)  # then nothing, until the client goes away


def test_a_streams_read_timeout_can_be_shortened_once_it_is_open(serve: Callable[[Handler], SocketServer]) -> None:
    server = serve(silent_after_retry)
    with HubClient(server.url, timeout=600) as hub:
        stream = hub.open_stream()
        stream.set_read_timeout(0.2)
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout) as raised:
            list(stream.events())
        stream.close()
    assert time.monotonic() - started < 120  # the client's 600 s no longer applies
    assert describe_error(raised.value) == "timed out"
    assert stream.retry_milliseconds == 3000


def test_shutdown_from_another_thread_ends_a_blocked_read(serve: Callable[[Handler], SocketServer]) -> None:
    server = serve(silent_after_retry)
    ended: list[BaseException] = []
    with HubClient(server.url, timeout=30) as hub:
        stream = hub.open_stream()

        def read() -> None:
            try:
                list(stream.events())
            except httpx.HTTPError as error:
                ended.append(error)

        reader = threading.Thread(target=read)
        reader.start()
        stream.shutdown()
        reader.join(10)
        stream.close()
    assert not reader.is_alive()
    assert len(ended) == 1


# -- failures in words ------------------------------------------------------------------------------------


def test_a_closed_port_is_connection_refused() -> None:
    with HubClient(f"http://127.0.0.1:{free_port()}") as hub, pytest.raises(httpx.ConnectError) as raised:
        hub.health()
    assert describe_error(raised.value) == "connection refused"


def test_a_hub_that_never_answers_is_timed_out(serve: Callable[[Handler], SocketServer]) -> None:
    server = serve(lambda connection, _head: connection.recv(1))
    with HubClient(server.url, timeout=0.2) as hub, pytest.raises(httpx.ReadTimeout) as raised:
        hub.health()
    assert describe_error(raised.value) == "timed out"


def reset(connection: socket.socket, _head: bytes) -> None:
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def test_a_reset_connection_is_named_as_such(serve: Callable[[Handler], SocketServer]) -> None:
    server = serve(reset)
    with HubClient(server.url) as hub, pytest.raises(httpx.TransportError) as raised:
        hub.health()
    assert describe_error(raised.value) == "connection reset by the hub"


def cut_mid_stream(connection: socket.socket, _head: bytes) -> None:
    connection.sendall(SSE_HEAD + b"40\r\nevent: ready\n")  # a chunk of 64 bytes, cut short


def test_a_stream_cut_mid_chunk_is_connection_broken(serve: Callable[[Handler], SocketServer]) -> None:
    server = serve(cut_mid_stream)
    with HubClient(server.url) as hub:
        stream = hub.open_stream()
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            list(stream.events())
        stream.close()
    assert describe_error(raised.value) == "connection broken"


# -- the hub's answers read into our errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, {"error": "unknown_agent", "detail": "no agent 'x'"}, UnknownAgent),
        (401, {"error": "unauthorized", "detail": "needs a token"}, Unauthorized),
        (413, None, PayloadTooLarge),
        (503, {"error": "store_unavailable", "detail": "database is locked"}, StoreUnavailable),
        (404, {"error": "not_found", "detail": "/nothing"}, NotFound),
        (418, None, RequestRefused),
        (502, None, AgentchatError),
    ],
)
def test_an_answer_becomes_the_error_its_code_or_status_stands_for(
    status: int, body: dict[str, str] | None, kind: type[AgentchatError]
) -> None:
    response = httpx.Response(status, json=body) if body else httpx.Response(status, text="<html>proxy</html>")
    error = refusal(response, "the detail")
    assert type(error) is kind
    assert error.detail == "the detail"


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (httpx.Response(400, json={"error": "bad_request", "detail": "limit"}), "HTTP 400 bad_request: limit"),
        (httpx.Response(401, json={"error": "unauthorized", "detail": ""}), f"HTTP 401 unauthorized {TOKEN_HINT}"),
        (httpx.Response(502, text="<html>bad gateway</html>"), "HTTP 502 Bad Gateway"),
    ],
)
def test_an_answer_is_described_by_the_hubs_code_and_detail_or_its_status(response: httpx.Response, words: str) -> None:
    assert describe_response(response) == words
