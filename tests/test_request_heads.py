"""The request head is bounded before it is parsed: its size, its time, its share of the descriptors.

Hostile clients on raw sockets against `python -m agentchat hub` (the command's own protocol
classes), under each of uvicorn's HTTP protocols. Each test watches what the connection does
(a status line, a close, how many bytes the hub took before refusing), never how long it took.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from agentchat.transport import shared_tls
from tests.kit import web
from tests.kit.hubs import HubProcess, hub_env
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.processes import stop_process
from tests.kit.waits import wait_answering, wait_until

HUGE_HEAD_BYTES = 16 * 1024 * 1024  # what a hostile client offers; the hub must stop reading long before
PIECE = 64 * 1024


@pytest.fixture(params=["auto", "h11"])
def hub_http(request: pytest.FixtureRequest) -> str:
    """Every test here runs under httptools (uvicorn's auto) and h11."""
    return str(request.param)


def send_until_refused(sock: socket.socket, head_start: bytes, filler: bytes) -> int:
    """Send `head_start` then `filler` pieces until the hub stops taking them; the bytes it took."""
    sock.sendall(head_start)
    sent = len(head_start)
    piece = filler * (PIECE // len(filler))
    try:
        while sent < HUGE_HEAD_BYTES:
            sock.sendall(piece)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def read_answer(sock: socket.socket) -> bytes:
    """Everything the hub writes before it closes (the ceiling only catches a hub that never does)."""
    sock.settimeout(30)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.mark.parametrize(
    ("head_start", "filler"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ", b"a"),  # one huge header
        (b"GET /healthz?", b"q"),  # one huge URL
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-A: b\r\n"),  # many small headers
    ],
    ids=["header", "url", "many-headers"],
)
def test_a_huge_request_head_is_refused_with_431_before_the_hub_reads_it(
    hub_process: HubProcess, head_start: bytes, filler: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", hub_process.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIECE)
        taken = send_until_refused(sock, head_start, filler)
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"error":"headers_too_large"' in answer
    # The limit, a read chunk or two, and what the kernel's buffers held: far below what was offered.
    assert taken < 4 * 1024 * 1024, f"the hub read {taken} bytes of a head before refusing it"
    assert hub_process.metric('agentchat_connections_refused_total{reason="head_too_large"}') == 1
    assert web.get(f"{hub_process.url}/healthz", timeout=10).status_code == 200


def test_a_head_that_does_not_arrive_within_the_deadline_is_answered_408(
    start_hub_process: Callable[..., HubProcess],
) -> None:
    hub = start_hub_process(head_timeout_seconds=1)
    with socket.create_connection(("127.0.0.1", hub.port)) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = read_answer(slow)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"error":"request_timeout"' in answer
    assert hub.metric('agentchat_connections_refused_total{reason="head_timeout"}') >= 1
    wait_until(lambda: "head_timeout" in hub.log())


def test_a_connection_that_never_sends_a_byte_is_closed_at_the_deadline(
    start_hub_process: Callable[..., HubProcess],
) -> None:
    hub = start_hub_process(head_timeout_seconds=1)
    with socket.create_connection(("127.0.0.1", hub.port)) as silent:
        assert read_answer(silent) == b""  # closed, with nothing to answer


def test_a_keep_alive_connection_can_send_many_requests_with_small_heads(hub_process: HubProcess) -> None:
    """The head count starts again with each request: a long keep-alive connection is never refused for its total."""
    with httpx.Client(base_url=hub_process.url, timeout=10, verify=shared_tls()) as client:
        for _ in range(300):
            assert client.get("/api/agents", headers={"X-Pad": "p" * 512}).status_code == 200


# -- the descriptor budget ---------------------------------------------------------------

FD_LIMIT = 160  # as in the report: with the default reserve, a budget of 76 connections


@pytest.fixture
def hub_with_few_descriptors(tmp_path: Path, sqlite_url: str, hub_http: str) -> Iterator[str]:
    """`agentchat hub` whose descriptor limit (soft and hard) is FD_LIMIT; yields its URL."""
    port = free_port()
    # A long head deadline: here only the budget closes idle connections.
    env = hub_env(
        sqlite_url, hub_port=port, hub_http=hub_http, heartbeat_seconds=30, access_log="false", head_timeout_seconds=300
    )
    log_path = tmp_path / "hub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}", sys.executable, "-m", "agentchat", "hub"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(process, f"{url}/healthz", lambda: log_path.read_text(errors="replace"))
        yield url
    finally:
        stop_process(process)


def test_idle_heads_past_the_descriptor_budget_close_the_longest_waiting_and_the_hub_answers(
    hub_with_few_descriptors: str,
) -> None:
    port = int(hub_with_few_descriptors.rsplit(":", 1)[1])
    idle: list[socket.socket] = []
    try:
        for _ in range(200):  # more than the whole descriptor limit, one header byte each
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"G")
            idle.append(sock)
        assert web.get(f"{hub_with_few_descriptors}/healthz", timeout=10).status_code == 200
        with web.stream("GET", f"{hub_with_few_descriptors}/api/chat/stream", timeout=10) as stream:
            assert stream.status_code == 200
            first = next(stream.iter_lines())
            assert first.startswith("retry:")
        assert read_answer(idle[0]) == b""  # the longest waiting was closed to make room
        metrics = web.get(f"{hub_with_few_descriptors}/metrics", timeout=10).text
        over_budget = 'agentchat_connections_refused_total{reason="over_budget"} '
        line = next(row for row in metrics.splitlines() if row.startswith(over_budget))
        assert float(line.removeprefix(over_budget)) >= 100
    finally:
        for sock in idle:
            sock.close()
