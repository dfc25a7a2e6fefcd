"""A stream's GET opened by the server's protocol in one step, and the connects it leaves to the ASGI route.

Under httptools, `agentchat hub`'s protocol offers each GET of the stream to
`StreamEndpoint.open_at_once` (`agentchat/hub/sockets/protocols.py`): a fresh connect or a resume
from the frame window is opened there, with no request task; a connect that must wait, read the
store or be refused takes the ASGI route. A client cannot tell the two apart; the hub's
`agentchat_stream_connects_at_once_total` says which route each connect took.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable

import pytest

from tests.kit import web
from tests.kit.hubs import HubProcess, InProcessHub
from tests.kit.netstat import accept_backlog
from tests.kit.processes import is_stopped
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

AT_ONCE = "agentchat_stream_connects_at_once_total"
CONNECTED = "agentchat_clients_connected"
STREAM = "/api/chat/stream"


@pytest.fixture(params=["auto", "h11"])
def hub_http(request: pytest.FixtureRequest) -> str:
    """Under httptools (uvicorn's auto) the protocol opens streams; under h11 the ASGI route opens them all."""
    return str(request.param)


def round_ids(hub: InProcessHub | HubProcess) -> list[int]:
    return [message["id"] for message in hub.generate().json()["messages"]]


def message_ids_through(reader: SseReader, last_id: int) -> list[int]:
    """The ids of the messages the stream brought, up to and including `last_id`."""
    before = [int(event.id or 0) for event in reader.until_message(last_id) if event.event == "message"]
    return [*before, last_id]


def read_until(sock: socket.socket, marker: bytes, received: bytes = b"") -> bytes:
    """Read until `marker` has arrived (the ceiling only catches a hub that never sends it)."""
    sock.settimeout(30)
    while marker not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed before {marker!r}; received {received!r}")
        received += chunk
    return received


def test_fresh_connects_and_window_resumes_open_in_one_step_under_httptools(hub: InProcessHub, hub_http: str) -> None:
    warm = SseReader(f"{hub.url}{STREAM}").start()  # a hub's first connect waits for its first read of the store
    warm.next("ready")
    fresh = SseReader(f"{hub.url}{STREAM}").start()
    assert fresh.next("ready").data["gap"] is False
    first_round = round_ids(hub)
    assert message_ids_through(fresh, first_round[-1]) == first_round
    fresh.close()
    missed = round_ids(hub)
    resumed = SseReader(f"{hub.url}{STREAM}", headers={"Last-Event-ID": str(first_round[-1])}).start()
    assert resumed.next("ready").data["last_id"] == missed[-1]
    assert message_ids_through(resumed, missed[-1]) == missed
    assert hub.metric('agentchat_stream_resumes_total{source="window"}') >= 1
    assert hub.metric(AT_ONCE) == (2 if hub_http == "auto" else 0)
    resumed.close()
    warm.close()
    wait_until(lambda: hub.metric(CONNECTED) == 0)  # a lost connection leaves the fan-out, by either route


def test_connects_that_must_read_the_store_or_be_refused_take_the_asgi_route(
    start_hub: Callable[..., InProcessHub],
) -> None:
    hub = start_hub(resume_window_messages=0)  # no window: every resume reads the store
    warm = SseReader(f"{hub.url}{STREAM}").start()
    warm.next("ready")
    missed = round_ids(hub)
    resumed = SseReader(f"{hub.url}{STREAM}", headers={"Last-Event-ID": str(missed[0] - 1)}).start()
    assert message_ids_through(resumed, missed[-1]) == missed
    refused = web.get(f"{hub.url}{STREAM}?agents=nobody", timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "unknown_agent"
    assert hub.metric(AT_ONCE) == 0
    resumed.close()
    warm.close()


def test_a_head_pipelined_behind_a_stream_gets_no_answer_and_the_stream_goes_on(hub: InProcessHub) -> None:
    """As uvicorn leaves a request queued behind a response in progress: an endless stream is never followed."""
    with socket.create_connection(("127.0.0.1", hub.port)) as sock:
        head = f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        sock.sendall(head + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = read_until(sock, b"event: ready")
        ids = round_ids(hub)
        received = read_until(sock, f"id: {ids[-1]}\n".encode(), received)
    assert received.count(b"HTTP/1.1 ") == 1
    assert received.startswith(b"HTTP/1.1 200 ") and b"text/event-stream" in received.split(b"\r\n\r\n", 1)[0]


def test_with_the_access_log_on_a_stream_opened_at_once_is_logged_as_uvicorn_logs_a_response(
    start_hub_process: Callable[..., HubProcess], hub_http: str
) -> None:
    hub = start_hub_process(access_log="true")
    for query in ("", "", "?agents=claude_arbitrage"):  # the first waits for the hub's first read of the store
        reader = SseReader(f"{hub.url}{STREAM}{query}").start()
        reader.next("ready")
        reader.close()
    wait_until(lambda: f'"GET {STREAM}?agents=claude_arbitrage HTTP/1.1" 200' in hub.log())
    assert hub.log().count(f'"GET {STREAM} HTTP/1.1" 200') == 2
    assert hub.metric(AT_ONCE) == (2 if hub_http == "auto" else 0)


def test_connects_past_the_gates_slice_wait_their_turn_and_still_open_in_one_step(
    start_hub_process: Callable[..., HubProcess], hub_http: str
) -> None:
    """Heads that reach the hub together, past `AGENTCHAT_CONNECTS_PER_TICK`, wait for later loop iterations."""
    hub = start_hub_process(connects_per_tick=2)
    warm = SseReader(f"{hub.url}{STREAM}").start()  # a hub's first connect waits for its first read of the store
    warm.next("ready")
    before = hub.metric(AT_ONCE)
    assert hub.process is not None
    pid = hub.process.pid
    sockets = [socket.create_connection(("127.0.0.1", hub.port)) for _ in range(12)]
    try:
        wait_until(lambda: accept_backlog(hub.port) == 0)  # accepted: their heads are read in one look
        hub.process.send_signal(signal.SIGSTOP)  # every head is waiting when the hub looks again
        wait_until(lambda: is_stopped(pid))
        try:
            for sock in sockets:
                sock.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        finally:
            hub.process.send_signal(signal.SIGCONT)
        for sock in sockets:
            read_until(sock, b"event: ready")
    finally:
        for sock in sockets:
            sock.close()
    assert hub.metric("agentchat_stream_connects_paced_total") >= 1
    assert hub.metric(AT_ONCE) - before == (12 if hub_http == "auto" else 0)
    warm.close()
