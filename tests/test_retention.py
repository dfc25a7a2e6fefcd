"""The live window and history: a page opened long after the last round still shows each agent's latest.

The window is the last `AGENTCHAT_RETENTION_SECONDS`, or each agent's latest
`AGENTCHAT_MAX_PER_AGENT`, whichever holds more. Messages older than the retention are written by
a first hub and moved back in time in the store, then a second hub (its frame window filled from
the store at start) serves them: no test waits for the clock to pass the retention.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from agentchat import RealtimeAgentMessages
from agentchat.agents import BUILTIN_ROSTER
from tests.kit.aging import age_messages
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

StartHub = Callable[..., InProcessHub]
BEAT = 0.2  # a hub beats only live streams: the first heartbeat ends a replay
AGENTS = [agent.id for agent in BUILTIN_ROSTER]


def count_rows(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = int(connection.execute(sa.text("SELECT count(*) FROM agent_chat_messages")).scalar_one())
    engine.dispose()
    return count


def rounds_written_long_ago(start_hub: StartHub, url: str, rounds: int, seconds: float) -> list[list[dict[str, Any]]]:
    """`rounds` rounds of a first hub, moved `seconds` back in time once it has stopped."""
    first = start_hub(database_url=url)
    made = [list(first.generate().json()["messages"]) for _ in range(rounds)]
    first.stop()
    age_messages(url, seconds)
    return made


def replay(hub: InProcessHub, last_event_id: int) -> tuple[dict[str, Any], list[int]]:
    reader = SseReader(f"{hub.url}/api/chat/stream", {"Last-Event-ID": str(last_event_id)}).start()
    try:
        ready = reader.next("ready").data
        return ready, [event.data["id"] for event in reader.until_heartbeat() if event.event == "message"]  # the replay
    finally:
        reader.close()


def test_a_fresh_stream_poll_and_client_show_each_agents_latest_long_after_the_round(
    start_hub: StartHub, database_url: str
) -> None:
    made = rounds_written_long_ago(start_hub, database_url, rounds=3, seconds=3600)  # an hour ago
    hub = start_hub(database_url=database_url, retention_seconds=3, heartbeat_seconds=BEAT, max_per_agent=2)
    kept = [message["id"] for message in [*made[1], *made[2]]]  # each agent's latest two
    assert [message["id"] for message in hub.messages(since_id=0)["messages"]] == kept
    ready, replayed = replay(hub, 0)
    assert replayed == kept
    assert (ready["earliest_id"], ready["last_id"], ready["gap"]) == (kept[0], kept[-1], True)  # round 1 is gone
    feed = RealtimeAgentMessages(hub.url, max_per_agent=2, fallback_poll_interval=1, request_timeout=2)
    try:
        wait_until(lambda: len(feed.messages) == len(kept), timeout=10)
        latest = {message["agent_id"]: message["id"] for message in reversed(feed.messages)}
        assert latest == {message["agent_id"]: message["id"] for message in made[2]}
        assert set(latest) == set(AGENTS)
    finally:
        feed.close()


def test_a_resume_gets_no_gap_for_what_the_window_still_holds(start_hub: StartHub, database_url: str) -> None:
    made = rounds_written_long_ago(start_hub, database_url, rounds=2, seconds=3600)
    # each agent's latest 20: both rounds
    hub = start_hub(database_url=database_url, retention_seconds=3, heartbeat_seconds=BEAT)
    every = [message["id"] for round_ in made for message in round_]
    for last_event_id in (0, every[0], every[len(every) // 2]):
        ready, replayed = replay(hub, last_event_id)
        assert replayed == [found for found in every if found > last_event_id]
        assert ready["gap"] is False and ready["earliest_id"] == every[0]
    watcher = SseReader(f"{hub.url}/api/chat/stream").start()
    watcher.next("ready")
    later = [message["id"] for message in hub.generate().json()["messages"]]
    watcher.until_message(later[-1])  # the bus delivered the round (on PostgreSQL after the POST): the window has it
    watcher.close()
    ready, replayed = replay(hub, every[-1])  # inside the frame window: no store read
    assert replayed == later and ready["gap"] is False
    assert hub.metric('agentchat_stream_resumes_total{source="window"}') >= 1


def test_a_resume_from_the_frame_window_follows_the_live_window(start_hub: StartHub, sqlite_url: str) -> None:
    """The hub's in-memory window applies the same rule as the store to messages it filled from it."""
    made = rounds_written_long_ago(start_hub, sqlite_url, rounds=3, seconds=3600)
    hub = start_hub(retention_seconds=3, heartbeat_seconds=BEAT, max_per_agent=1)
    ready, replayed = replay(hub, made[0][-1]["id"])
    assert replayed == [message["id"] for message in made[2]]
    assert ready["gap"] is True  # round 2 left the window
    ready, replayed = replay(hub, made[1][-1]["id"])
    assert replayed == [message["id"] for message in made[2]] and ready["gap"] is False
    assert hub.metric('agentchat_stream_resumes_total{source="window"}') == 2


def test_history_keeps_messages_past_the_retention_and_the_purge_deletes_them_after_history_days(
    start_hub: StartHub, database_url: str
) -> None:
    rounds_written_long_ago(start_hub, database_url, rounds=3, seconds=31 * 86400)  # 31 days ago
    hub = start_hub(database_url=database_url, retention_seconds=3, max_per_agent=1)  # purges every second
    wait_until(lambda: "history purge removed 12 messages" in hub.log(), timeout=15)
    assert count_rows(database_url) == len(AGENTS)  # each agent's latest stays
    assert len(hub.messages()["messages"]) == len(AGENTS)


def test_idempotency_key_outlives_the_retention_of_its_messages(start_hub: StartHub) -> None:
    """A scheduler restarted late in a slot longer than retention must not make the slot's round twice."""
    hub: InProcessHub = start_hub(retention_seconds=1)
    first = hub.generate(**{"Idempotency-Key": "round-slot-1"})
    age_messages(hub.settings.database_url, 3600)
    again = hub.generate(**{"Idempotency-Key": "round-slot-1"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(hub.messages()["messages"]) == len(AGENTS)  # none were made
