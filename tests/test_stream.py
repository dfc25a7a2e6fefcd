"""GET /api/chat/stream: headers, ready, heartbeats, live frames, filters and resume.

Every test runs under both of uvicorn's HTTP protocols: the fan-out's direct route (httptools)
and its plain-ASGI route (h11).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader


@pytest.fixture(params=["httptools", "h11"])
def hub_http(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def stream_url(hub: InProcessHub, query: str = "") -> str:
    return f"{hub.url}/api/chat/stream{query}"


def test_stream_headers_say_event_stream_uncached_and_unbuffered(hub: InProcessHub) -> None:
    with web.stream("GET", stream_url(hub), timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers


def test_stream_starts_with_retry_then_ready(hub: InProcessHub) -> None:
    with web.stream("GET", stream_url(hub), timeout=5) as response:
        first = next(response.iter_lines())
        assert first == "retry: 3000"  # the contract's first bytes, unless a range is configured
    reader = SseReader(stream_url(hub)).start()
    ready = reader.next()
    reader.close()
    assert ready.event == "ready"
    assert set(ready.data) >= {"server_time", "heartbeat_seconds", "last_id", "earliest_id", "gap"}
    assert ready.data["server_time"].endswith("Z")
    assert ready.data["heartbeat_seconds"] == 0.5
    assert ready.data["last_id"] is None and ready.data["gap"] is False


def test_heartbeat_arrives_every_period_without_an_id(hub: InProcessHub) -> None:
    reader = SseReader(stream_url(hub)).start()
    first, second = reader.next("heartbeat", timeout=20), reader.next("heartbeat", timeout=20)
    reader.close()
    for heartbeat in (first, second):
        assert heartbeat.id is None or heartbeat.id == ""
        assert heartbeat.data["clients"] >= 1
        assert heartbeat.data["server_time"].endswith("Z")


def test_generated_messages_arrive_as_frames_equal_to_stored_rows(hub: InProcessHub) -> None:
    reader = SseReader(stream_url(hub)).start()
    reader.next("ready")
    made = hub.generate().json()["messages"]
    received = reader.messages(len(made))
    reader.close()
    assert received == made
    assert received == hub.messages()["messages"]
    assert [int(message["id"]) for message in received] == sorted(message["id"] for message in made)


def test_message_frame_id_line_is_the_message_id(hub: InProcessHub) -> None:
    reader = SseReader(stream_url(hub)).start()
    reader.next("ready")
    made = hub.generate(["claude_arbitrage"]).json()["messages"]
    event = reader.next("message")
    reader.close()
    assert event.id == str(made[0]["id"])


def test_agents_filter_sends_only_those_agents(hub: InProcessHub) -> None:
    reader = SseReader(stream_url(hub, "?agents=claude_arbitrage,chatgpt_openai")).start()
    reader.next("ready")
    hub.generate()
    hub.generate(["claude_arbitrage"])
    marker = hub.generate(["chatgpt_openai"]).json()["messages"][0]["id"]  # after everything that must not come
    received = reader.messages(3)
    extra = [event for event in reader.until_message(marker) if event.event == "message"]
    reader.close()
    assert extra == []
    assert {message["agent_id"] for message in received} == {"claude_arbitrage", "chatgpt_openai"}


def test_unknown_agent_in_filter_is_a_400_with_a_json_error(hub: InProcessHub) -> None:
    response = web.get(stream_url(hub, "?agents=claude_arbitrage,nobody"), timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_agent"
    assert "nobody" in response.json()["detail"]


def test_bad_last_event_id_is_a_400(hub: InProcessHub) -> None:
    response = web.get(stream_url(hub), headers={"Last-Event-ID": "seven"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_replay_after_reconnect_sends_each_missed_message_once(hub: InProcessHub) -> None:
    first_round = hub.generate().json()["messages"]
    seen_up_to = first_round[2]["id"]
    missed = [m for m in first_round if m["id"] > seen_up_to] + hub.generate().json()["messages"]
    reader = SseReader(stream_url(hub), headers={"Last-Event-ID": str(seen_up_to)}).start()
    ready = reader.next("ready")
    replayed = reader.messages(len(missed))
    live = hub.generate(["chatgpt_openai"]).json()["messages"]
    after = reader.messages(1)
    marker = hub.generate(["chatgpt_openai"]).json()["messages"][0]["id"]
    extra = [event for event in reader.until_message(marker) if event.event == "message"]
    reader.close()
    assert ready.data["gap"] is False
    assert replayed == missed
    assert after == live
    assert extra == []


def test_last_event_id_query_parameter_works_like_the_header(hub: InProcessHub) -> None:
    made = hub.generate().json()["messages"]
    reader = SseReader(stream_url(hub, f"?last_event_id={made[3]['id']}")).start()
    replayed = reader.messages(2)
    reader.close()
    assert replayed == made[4:]


def test_resume_while_messages_are_published_has_no_gap_and_no_duplicate(hub: InProcessHub) -> None:
    """Clients resume from various ids while rounds are committed concurrently."""
    hub.generate()
    hub.generate()  # ids 1-12 exist: every resume point below was really seen
    stop = threading.Event()

    def keep_generating() -> None:
        while not stop.is_set():
            hub.generate()

    producer = threading.Thread(target=keep_generating)
    producer.start()
    readers = []
    try:
        for resume_from in range(1, 12):
            readers.append((resume_from, SseReader(stream_url(hub), {"Last-Event-ID": str(resume_from)}).start()))
    finally:
        stop.set()
        producer.join()
    last_id = hub.messages(limit=1000)["last_id"]
    marker = hub.generate(["chatgpt_openai"]).json()["messages"][0]["id"]  # each stream's end: after every id
    with ThreadPoolExecutor(len(readers)) as pool:
        drained = list(pool.map(lambda reader: reader.until_message(marker), [reader for _, reader in readers]))
    for (resume_from, reader), events in zip(readers, drained, strict=True):
        ids = [int(event.id) for event in events if event.event == "message"]
        reader.close()
        assert ids == list(range(resume_from + 1, last_id + 1)), f"resumed from {resume_from}"


def test_ready_reports_a_gap_when_missed_messages_were_removed(start_hub, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    hub: InProcessHub = start_hub()
    hub.generate()
    hub.generate()
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:  # as another hub's retention purge would
        connection.execute(sa.text("DELETE FROM agent_chat_messages WHERE id <= 8"))
    engine.dispose()
    hub = start_hub()  # a hub that starts now finds them gone (its window is filled from the store)
    behind = SseReader(stream_url(hub), {"Last-Event-ID": "3"}).start()
    just_in_time = SseReader(stream_url(hub), {"Last-Event-ID": "8"}).start()
    gap, no_gap = behind.next("ready"), just_in_time.next("ready")
    behind.close()
    just_in_time.close()
    assert gap.data["earliest_id"] == 9
    assert gap.data["gap"] is True
    assert no_gap.data["gap"] is False
