"""Resumes served from the frame window and from the store: each missed message once, in order.

A resume inside the window (`agentchat/hub/window.py`) and one older than it (a store read,
`agentchat/hub/resume.py`) must give the same answer a store read always gave, on SQLite and on
PostgreSQL: every retained message after Last-Event-ID, then live, with messages published
during the resume neither lost nor repeated. `/metrics` says where each resume was served from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agentchat.message import Draft, parse_timestamp
from agentchat.store import Store, create_store_engine
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

StartHub = Callable[..., InProcessHub]
ROSTER_SIZE = 6
HEARTBEAT_SECONDS = 0.2  # a replay's end is the stream's first heartbeat


def stream_url(hub: InProcessHub, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{hub.url}/api/chat/stream" + (f"?{query}" if query else "")


def resumes(hub: InProcessHub, source: str) -> float:
    return hub.metric(f'agentchat_stream_resumes_total{{source="{source}"}}')


def message_ids(events: list[Any]) -> list[int]:
    return [event.data["id"] for event in events if event.event == "message"]


def replay_of(hub: InProcessHub, last_event_id: int, **params: str) -> tuple[dict[str, Any], list[int]]:
    """`ready` and the ids replayed: everything before the first heartbeat, which a hub sends only to a stream
    that has gone live, after its replay (the hubs of this module beat every HEARTBEAT_SECONDS)."""
    reader = SseReader(stream_url(hub, **params), {"Last-Event-ID": str(last_event_id)}).start()
    try:
        ready = reader.next("ready").data
        return ready, message_ids(reader.until_heartbeat())
    finally:
        reader.close()


def resume_while_publishing(
    hub: InProcessHub, last_event_id: int, readers: int, rounds: int
) -> tuple[list[list[int]], int]:
    """Open `readers` resumes while `rounds` rounds are published; each reader's ids up to a marker round
    published after them all, and the marker's id (not among the ids)."""
    publisher = threading.Thread(target=lambda: [hub.generate() for _ in range(rounds)])
    publisher.start()
    opened = [SseReader(stream_url(hub), {"Last-Event-ID": str(last_event_id)}).start() for _ in range(readers)]
    publisher.join()
    marker = int(hub.generate(["claude_arbitrage"]).json()["messages"][0]["id"])
    try:
        return [message_ids(reader.until_message(marker)) for reader in opened], marker
    finally:
        for reader in opened:
            reader.close()


def test_resume_inside_the_window_gives_each_missed_message_once_with_those_published_meanwhile(
    start_hub: StartHub, database_url: str
) -> None:
    hub = start_hub(database_url=database_url, heartbeat_seconds=HEARTBEAT_SECONDS)
    made = [m["id"] for _ in range(3) for m in hub.generate().json()["messages"]]
    last_seen = made[ROSTER_SIZE - 1]  # one round seen, two missed
    received, marker = resume_while_publishing(hub, last_seen, readers=8, rounds=3)
    everything = [m["id"] for m in hub.messages(limit=1000)["messages"]]
    expected = [i for i in everything if last_seen < i < marker]
    assert len(expected) == 5 * ROSTER_SIZE
    assert all(ids == expected for ids in received)
    if database_url.startswith("postgresql"):
        # The window serves a resume only while the bus has delivered what the store holds; LISTEN/NOTIFY
        # may trail a round published meanwhile, and that resume is then the store's, by design.
        assert resumes(hub, "window") >= 1
        assert resumes(hub, "window") + resumes(hub, "store") + resumes(hub, "store_shared") == 8
    else:
        assert resumes(hub, "window") == 8 and resumes(hub, "store") == 0


def test_resume_older_than_the_window_reads_the_store_and_gives_each_missed_message_once(
    start_hub: StartHub, database_url: str
) -> None:
    hub = start_hub(
        database_url=database_url, resume_window_messages=ROSTER_SIZE, heartbeat_seconds=HEARTBEAT_SECONDS
    )  # one round
    made = [m["id"] for _ in range(3) for m in hub.generate().json()["messages"]]
    last_seen = made[0]
    received, marker = resume_while_publishing(hub, last_seen, readers=8, rounds=3)
    everything = [m["id"] for m in hub.messages(limit=1000)["messages"]]
    expected = [i for i in everything if last_seen < i < marker]
    assert all(ids == expected for ids in received)
    assert resumes(hub, "store") + resumes(hub, "store_shared") == 8 and resumes(hub, "window") == 0


def test_window_and_store_give_the_same_replay_for_every_position_and_filter(start_hub: StartHub) -> None:
    """Across the window's floor, with a filter and without: the window answers as the store does."""
    windowed = start_hub(
        resume_window_messages=2 * ROSTER_SIZE, heartbeat_seconds=HEARTBEAT_SECONDS
    )  # the last two of four rounds
    made = [m["id"] for _ in range(4) for m in windowed.generate().json()["messages"]]
    store_only = start_hub(
        resume_window_messages=0, heartbeat_seconds=HEARTBEAT_SECONDS
    )  # same file, every resume a store read
    for last_event_id in [0, made[2 * ROSTER_SIZE - 2], made[2 * ROSTER_SIZE - 1], made[-2], made[-1]]:
        for params in ({}, {"agents": "claude_arbitrage,grok_sentiment"}):
            from_window = replay_of(windowed, last_event_id, **params)
            from_store = replay_of(store_only, last_event_id, **params)
            assert from_window[1] == from_store[1]
            assert from_window[0]["gap"] == from_store[0]["gap"] is False
    assert resumes(windowed, "window") == 6 and resumes(store_only, "window") == 0


def test_resume_from_the_window_replays_only_the_followed_agents(hub: InProcessHub) -> None:
    made = [m for _ in range(2) for m in hub.generate().json()["messages"]]
    _ready, replayed = replay_of(hub, made[0]["id"], agents="claude_arbitrage")
    assert replayed == [m["id"] for m in made[1:] if m["agent_id"] == "claude_arbitrage"]
    assert resumes(hub, "window") == 1


def test_window_never_replays_what_left_the_live_window(start_hub: StartHub) -> None:
    """The window's clock is stepped to where the first two rounds are past retention and the third is not."""
    retention = timedelta(hours=1)
    hub = start_hub(
        retention_seconds=retention.total_seconds(), max_per_agent=1, heartbeat_seconds=HEARTBEAT_SECONDS
    )  # an hour, or the latest
    expired = hub.generate().json()["messages"]
    second = hub.generate().json()["messages"]  # each agent's latest until the next round
    kept = hub.generate().json()["messages"]  # each agent's latest, and inside the hour
    kept_since = min(parse_timestamp(m["created_at"]) for m in kept)
    assert all(parse_timestamp(m["created_at"]) < kept_since for m in second)
    assert hub.app is not None
    hub.app.hub.window.clock = lambda: kept_since + retention  # an hour on: the first two rounds have left
    ready, replayed = replay_of(hub, expired[0]["id"])
    assert replayed == [m["id"] for m in kept]
    assert ready["gap"] is True and ready["earliest_id"] == kept[0]["id"]
    assert resumes(hub, "window") == 1


def test_a_resume_asked_again_once_messages_left_the_retention_is_not_answered_as_before(start_hub: StartHub) -> None:
    """The window keeps a storm's replays until the answer could change: a message arriving, or one leaving."""
    retention = timedelta(hours=1)
    hub = start_hub(retention_seconds=retention.total_seconds(), max_per_agent=1, heartbeat_seconds=HEARTBEAT_SECONDS)
    expired = hub.generate().json()["messages"]
    second = hub.generate().json()["messages"]
    kept = hub.generate().json()["messages"]
    kept_since = min(parse_timestamp(m["created_at"]) for m in kept)
    assert hub.app is not None
    before_ready, before = replay_of(hub, expired[0]["id"])
    assert before == [m["id"] for m in expired[1:] + second + kept] and before_ready["gap"] is False
    hub.app.hub.window.clock = lambda: kept_since + retention  # no message since: only the clock moved
    ready, replayed = replay_of(hub, expired[0]["id"])
    assert replayed == [m["id"] for m in kept] and ready["gap"] is True
    hub.app.hub.window.clock = lambda: kept_since  # back: the first answer again
    assert replay_of(hub, expired[0]["id"])[1] == before
    assert resumes(hub, "window") == 3


def test_resume_after_a_restart_is_served_from_the_refilled_window(start_hub: StartHub, sqlite_url: str) -> None:
    first = start_hub(heartbeat_seconds=HEARTBEAT_SECONDS)
    made = [m["id"] for _ in range(3) for m in first.generate().json()["messages"]]
    first.stop()
    hub = start_hub(
        heartbeat_seconds=HEARTBEAT_SECONDS
    )  # a new process's hub on the same store: its window is read once at start
    ready, replayed = replay_of(hub, made[ROSTER_SIZE - 1])
    assert replayed == made[ROSTER_SIZE:]
    assert ready["gap"] is False and ready["last_id"] == made[-1]
    assert resumes(hub, "window") == 1 and resumes(hub, "store") == 0


@pytest.mark.postgres
def test_a_hub_started_beside_another_serves_resumes_of_its_messages_from_the_window(
    start_hub: StartHub, postgres_url: str
) -> None:
    """The window is filled before the bus starts and the bus delivers from its last id: no hole between."""
    writer = start_hub(database_url=postgres_url, heartbeat_seconds=HEARTBEAT_SECONDS)
    before = [m["id"] for m in writer.generate().json()["messages"]]
    hub = start_hub(database_url=postgres_url, heartbeat_seconds=HEARTBEAT_SECONDS)
    after = [m["id"] for m in writer.generate().json()["messages"]]
    wait_until(lambda: hub.app is not None and hub.app.hub.window.last_id == after[-1])
    _ready, replayed = replay_of(hub, before[0])
    assert replayed == before[1:] + after
    assert resumes(hub, "window") == 1


def test_each_stream_gets_a_retry_within_the_configured_range(start_hub: StartHub) -> None:
    hub = start_hub(stream_retry_min_ms=1500, stream_retry_max_ms=1600)
    values = []
    for _ in range(30):
        with web.stream("GET", stream_url(hub), timeout=5) as response:
            values.append(int(next(response.iter_lines()).removeprefix("retry: ")))
    assert all(1500 <= value <= 1600 for value in values)
    assert len(set(values)) > 1


def test_a_resume_inside_the_window_while_the_store_file_is_gone_is_told_to_come_back(hub: InProcessHub) -> None:
    made = [m["id"] for m in hub.generate().json()["messages"]]
    database = Path(str(sa.make_url(hub.settings.database_url).database))
    away = database.with_name(database.name + ".away")
    database.rename(away)
    try:
        answer = web.get(stream_url(hub), headers={"Last-Event-ID": str(made[0])}, timeout=10)
    finally:
        away.rename(database)
    assert answer.status_code == 200 and "event: unavailable" in answer.text
    assert resumes(hub, "window") == 0


@pytest.mark.parametrize("from_id", ["zero", "a real id"])
def test_a_message_written_to_the_store_behind_the_hub_is_still_replayed(
    hub: InProcessHub, sqlite_url: str, from_id: str
) -> None:
    """The window defers to the store for the whole history (0), and when the store has something newer."""
    seen = 0 if from_id == "zero" else hub.generate().json()["messages"][-1]["id"]
    wait_until(lambda: hub.app is not None and hub.app.hub.window.last_id == seen)
    store = Store(create_store_engine(sqlite_url), retention_seconds=600)
    (written,), _ = store.insert_round([Draft("claude_arbitrage", "Claude Arbitrage", "alert", "written elsewhere")])
    store.dispose()
    if seen:  # the store as last read (at most a second ago) has nothing newer than the window yet
        assert hub.app is not None
        recent_bounds = hub.app.stream.recent_bounds
        wait_until(lambda: replay_of(hub, seen)[1] == [written.id] and recent_bounds.stored_last_id == written.id)
    _ready, replayed = replay_of(hub, seen)
    assert replayed == [written.id]
