"""Retention: expired messages are never served, and the hub's purge deletes them.

Messages are made old by moving their `created_at` back in the store (`age_messages`), or the tests
wait for them to be gone: no test depends on a message still being retained after a fixed time.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.support import InProcessHub, SseReader, age_messages, wait_until


def count_rows(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = int(connection.execute(sa.text("SELECT count(*) FROM agent_chat_messages")).scalar_one())
    engine.dispose()
    return count


def test_expired_messages_are_not_served_and_then_purged(start_hub, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    made: InProcessHub = start_hub(retention_seconds=60)
    made.generate()
    assert len(made.messages()["messages"]) == 6
    made.stop()
    age_messages(sqlite_url, 3600)  # an hour old, past any retention below
    # 4 s: the purge runs every second (a quarter of the retention, at least 1 s)
    hub: InProcessHub = start_hub(retention_seconds=4, heartbeat_seconds=0.2)
    assert hub.messages()["messages"] == []
    reader = SseReader(f"{hub.url}/api/chat/stream", {"Last-Event-ID": "0"}).start()
    ready = reader.next("ready")
    replayed = [event for event in reader.until_heartbeat() if event.event == "message"]  # a live stream's replay
    reader.close()
    assert replayed == []
    assert ready.data["earliest_id"] is None
    wait_until(lambda: count_rows(sqlite_url) == 0, timeout=30)


def test_idempotency_key_outlives_the_retention_of_its_messages(start_hub) -> None:  # type: ignore[no-untyped-def]
    """A scheduler restarted late in a slot longer than retention must not make the slot's round twice."""
    hub: InProcessHub = start_hub(retention_seconds=1)
    first = hub.generate(**{"Idempotency-Key": "round-slot-1"})
    wait_until(lambda: hub.messages()["messages"] == [])  # the round's messages are past the retention
    again = hub.generate(**{"Idempotency-Key": "round-slot-1"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert hub.messages()["messages"] == []  # the messages themselves are gone, and none were made
