"""The stream keeps every real client through faults (issue 13, points 1, 2, 3, 6, 8 and 10).

A browser's EventSource gives up for good after any answer that is not 200 `text/event-stream`,
so transient conditions are a 200 with `retry:` and `event: unavailable`; HEAD never holds a
connection; a Last-Event-ID from another (or a reset) store is a gap with a replay; `retry:`
sits in the `ready` block; a SQLite file removed under the hub is noticed.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def raw_stream(hub: InProcessHub, headers: str = "") -> bytes:
    """One GET of the stream on a raw socket, read until the hub closes it: `Connection: close`, so the end of the
    response is the end of the connection, not the start of a 5 s keep-alive wait for another request."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as connection:
        request = f"GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
        connection.sendall(request.encode())
        return read_until_closed(connection)


def sqlite_file(hub: InProcessHub) -> Path:
    database = sa.make_url(hub.settings.database_url).database
    assert database is not None
    return Path(database)


def test_head_on_the_stream_answers_at_once_and_keeps_the_connection_usable(hub: InProcessHub) -> None:
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as connection:
        connection.sendall(
            b"HEAD /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        received = read_until_closed(connection)
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"text/event-stream" in head
    assert rest.startswith(b"HTTP/1.1 200"), rest[:200]
    assert b'"status":"ok"' in rest
    for _ in range(20):
        assert web.head(f"{hub.url}/api/chat/stream", timeout=5).status_code == 200
    assert hub.metric("agentchat_clients_connected") == 0


def test_retry_is_in_the_same_event_block_as_ready(hub: InProcessHub) -> None:
    with web.stream("GET", f"{hub.url}/api/chat/stream", timeout=5) as response:
        lines = response.iter_lines()
        first, second = next(lines), next(lines)
        assert re.fullmatch(r"retry: \d+", first) and second == "event: ready"


def test_ready_carries_the_store_identity_it_keeps_across_restarts(start_hub: Callable[..., InProcessHub]) -> None:
    first = start_hub()
    reader = SseReader(f"{first.url}/api/chat/stream").start()
    store_id = reader.next("ready").data["store_id"]
    reader.close()
    assert isinstance(store_id, str) and len(store_id) == 32
    assert first.messages()["store_id"] == store_id
    first.stop()
    again = start_hub()
    assert again.messages()["store_id"] == store_id


def test_a_last_event_id_ahead_of_the_store_is_a_gap_with_a_replay(hub: InProcessHub) -> None:
    stored = hub.generate(["claude_arbitrage", "llama_maker"]).json()["messages"]
    reader = SseReader(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": "1000"}).start()
    ready = reader.next("ready")
    assert ready.data["gap"] is True
    assert [message["id"] for message in reader.messages(2)] == [message["id"] for message in stored]
    later = hub.generate(["claude_arbitrage"]).json()["messages"]
    assert reader.messages(1)[0]["id"] == later[0]["id"]
    reader.close()
    answer = hub.messages(since_id=1000)
    assert answer["gap"] is True
    assert [message["id"] for message in answer["messages"]] == [m["id"] for m in stored + later]


def test_a_resume_within_the_store_is_not_a_gap(hub: InProcessHub) -> None:
    stored = hub.generate(["claude_arbitrage", "llama_maker"]).json()["messages"]
    reader = SseReader(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": str(stored[-1]["id"])}).start()
    assert reader.next("ready").data["gap"] is False
    reader.close()
    assert hub.messages(since_id=stored[-1]["id"])["gap"] is False


def test_a_removed_sqlite_file_is_a_503_and_the_stream_says_unavailable(hub: InProcessHub) -> None:
    assert hub.generate(["claude_arbitrage"]).status_code == 201
    path = sqlite_file(hub)
    for suffix in ("", "-wal", "-shm"):
        with_suffix = Path(f"{path}{suffix}")
        if with_suffix.exists():
            os.unlink(with_suffix)
    refused = hub.generate(["claude_arbitrage"])
    assert refused.status_code == 503 and refused.json()["error"] == "store_unavailable"
    health = web.get(f"{hub.url}/healthz", timeout=10)
    assert health.status_code == 503 and "removed" in health.json()["database"]
    answer = raw_stream(hub, "Last-Event-ID: 1\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    assert re.search(rb"retry: \d+\nevent: unavailable\ndata: ", body)
    assert b"store_unavailable" in body
    assert hub.metric('agentchat_streams_refused_total{reason="store"}') == 1


def test_a_browser_style_client_comes_back_after_the_store_returns(hub: InProcessHub) -> None:
    """The resume while the store is down gets `unavailable` (200) and the resume after it the replay."""
    first = hub.generate(["claude_arbitrage"]).json()["messages"][0]
    path = sqlite_file(hub)
    moved = path.with_suffix(".away")
    os.rename(path, moved)
    answer = raw_stream(hub, f"Last-Event-ID: {first['id']}\r\n")
    assert b"event: unavailable" in answer and answer.startswith(b"HTTP/1.1 200")
    os.rename(moved, path)
    reader = SseReader(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": str(first["id"])}).start()
    assert reader.next("ready").data["gap"] is False
    second = hub.generate(["claude_arbitrage"]).json()["messages"][0]
    assert reader.messages(1)[0]["id"] == second["id"]
    reader.close()


def test_past_the_stream_cap_a_stream_is_told_to_come_back(start_hub: Callable[..., InProcessHub]) -> None:
    hub = start_hub(max_streams=2)
    readers = [SseReader(f"{hub.url}/api/chat/stream").start() for _ in range(2)]
    for reader in readers:
        reader.next("ready")
    answer = raw_stream(hub)
    assert answer.startswith(b"HTTP/1.1 200")
    assert re.search(rb"retry: \d+\nevent: unavailable\n", answer) and b"hub_full" in answer
    assert web.get(f"{hub.url}/healthz").status_code == 200
    assert hub.metric("agentchat_stream_cap") == 2
    assert hub.metric('agentchat_streams_refused_total{reason="full"}') == 1
    assert "stream cap of 2 reached" in hub.log()
    readers[0].close()
    wait_until(lambda: hub.metric("agentchat_clients_connected") == 1)
    again = SseReader(f"{hub.url}/api/chat/stream").start()
    assert again.next().event == "ready"
    for reader in (readers[1], again):
        reader.close()
