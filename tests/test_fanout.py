"""Fan-out behaviour against the real hub: order, slow clients, shutdown.

Every test runs under both of uvicorn's HTTP protocols: the fan-out's direct route (httptools)
and its plain-ASGI route (h11). The state machine itself is `test_fanout_states.py`.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from agentchat.hub.fanout import Mode
from agentchat.transport import shared_tls
from tests.kit.hubs import HubProcess, InProcessHub
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until


@pytest.fixture(params=["httptools", "h11"])
def hub_http(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def roster_of(count: int, path: Path) -> Path:
    """A roster of many agents, so one round is a large burst of frames."""
    path.write_text(
        "".join(
            f"[[agents]]\nid = 'agent_{i}'\nname = 'Agent {i}'\ncolor = '#336699'\nstrategy = 'momentum'\n\n"
            for i in range(count)
        )
    )
    return path


def open_stalled_client(hub: InProcessHub) -> socket.socket:
    """An SSE client with a tiny receive window that never reads."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", hub.port))
    client.sendall(f"GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\n\r\n".encode())
    return client


class IdCounter:
    """A fast SSE reader for bulk tests: collects the `id:` lines of message frames."""

    def __init__(self, url: str) -> None:
        self.ids: list[int] = []
        self._client = httpx.Client(timeout=30, verify=shared_tls())
        self._response = self._client.send(self._client.build_request("GET", url), stream=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffered = b""
        try:
            for chunk in self._response.iter_bytes():
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                self.ids += [int(line[4:]) for line in lines if line.startswith(b"id: ")]
        except (httpx.HTTPError, httpx.StreamError):
            pass  # closed by the test

    def wait_for(self, count: int) -> list[int]:
        wait_until(lambda: len(self.ids) >= count, timeout=30)
        return self.ids

    def close(self) -> None:
        self._response.close()
        self._client.close()


def test_every_client_gets_every_frame_once_and_in_order(hub: InProcessHub) -> None:
    readers = [SseReader(f"{hub.url}/api/chat/stream").start() for _ in range(5)]
    for reader in readers:
        reader.next("ready")
    made = [m["id"] for _ in range(5) for m in hub.generate().json()["messages"]]
    marker = hub.generate(["claude_arbitrage"]).json()["messages"][0]["id"]  # after every frame that counts
    for reader in readers:
        ids = [int(event.id) for event in reader.until_message(marker) if event.event == "message"]
        reader.close()
        assert ids == made


def test_slow_client_is_dropped_while_a_fast_one_keeps_receiving(start_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hub: InProcessHub = start_hub(agents_file=roster_of(100, tmp_path / "agents.toml"), client_buffer_bytes=65536)
    fast = IdCounter(f"{hub.url}/api/chat/stream")
    stalled = open_stalled_client(hub)
    try:
        wait_until(lambda: hub.metric("agentchat_clients_connected") == 2)
        made: list[int] = []
        deadline = time.monotonic() + 60
        while hub.metric("agentchat_clients_dropped_slow_total") < 1:
            assert time.monotonic() < deadline, "the stalled client was never dropped"
            made += [m["id"] for m in hub.generate().json()["messages"]]
        assert fast.wait_for(len(made)) == made
        assert hub.metric("agentchat_clients_connected") == 1
        assert "slow client" in hub.log()
    finally:
        fast.close()
        stalled.close()


def test_a_client_that_stops_reading_for_a_while_gets_every_frame_once_and_in_order(start_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Frames the kernel could not take wait in the transport, then the backlog: none overtakes another."""
    hub: InProcessHub = start_hub(agents_file=roster_of(100, tmp_path / "agents.toml"), client_buffer_bytes=16 << 20)
    app = hub.app
    assert app is not None
    paused = open_stalled_client(hub)
    try:
        wait_until(lambda: len(app.hub.fanout) == 1)
        (subscriber,) = tuple(app.hub.fanout.subscribers)
        wait_until(lambda: subscriber.mode is Mode.IDLE)
        made: list[int] = []
        deadline = time.monotonic() + 60
        while subscriber.mode is not Mode.BLOCKED:  # the socket and the transport are full: a backlog forms
            assert time.monotonic() < deadline, "the paused client never filled its socket"
            made += [m["id"] for m in hub.generate().json()["messages"]]
        made += [m["id"] for m in hub.generate().json()["messages"]]  # into the backlog
        received = b""
        paused.settimeout(30)
        while f"id: {made[-1]}\n".encode() not in received:
            data = paused.recv(1 << 16)
            assert data, "the stream ended"
            received += data
        ids = [int(line[4:]) for line in received.split(b"\n") if line.startswith(b"id: ")]
        assert ids == made
        assert hub.metric("agentchat_clients_dropped_slow_total") == 0
    finally:
        paused.close()


def test_sigterm_ends_open_streams_and_exits_cleanly(start_hub_process) -> None:  # type: ignore[no-untyped-def]
    hub: HubProcess = start_hub_process()
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    reader.next("ready")
    hub.terminate(timeout=60)  # uvicorn re-raises the signal after its graceful shutdown
    # The streams did not hold it up: uvicorn says so when it has to cancel them after its 10 s of grace.
    assert "timeout graceful shutdown exceeded" not in hub.log()
    assert reader.ended.wait(20)
    assert "Application shutdown complete" in hub.log()
    assert "Traceback" not in hub.log()


def connect_and_hang_up(hub: InProcessHub | HubProcess, count: int) -> None:
    """Open `count` SSE streams (100 at a time), read their first bytes, and close them."""
    request = f"GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\n\r\n".encode()
    for start in range(0, count, 100):
        clients = [socket.create_connection(("127.0.0.1", hub.port)) for _ in range(min(100, count - start))]
        try:
            for client in clients:
                client.sendall(request)
            for client in clients:
                client.settimeout(5)
                assert client.recv(4096).startswith(b"HTTP/1.1 200")
        finally:
            for client in clients:
                client.close()


def resident_kb(hub: HubProcess) -> int:
    assert hub.process is not None
    status = Path(f"/proc/{hub.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def test_a_thousand_connects_and_disconnects_leave_nothing_behind(hub_process: HubProcess) -> None:
    hub = hub_process
    connect_and_hang_up(hub, 200)  # warm up allocator pools and caches
    wait_until(lambda: hub.metric("agentchat_clients_connected") == 0)
    before = resident_kb(hub)
    connect_and_hang_up(hub, 1000)
    wait_until(lambda: hub.metric("agentchat_clients_connected") == 0)
    assert hub.metric("agentchat_clients_connections_total") == 1200
    assert hub.metric("agentchat_backlog_bytes") == 0
    assert resident_kb(hub) - before < 4096, "the hub kept memory for streams that are gone"
