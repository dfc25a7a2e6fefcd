"""FeedBuffer on its own: each id once, newest first, a bounded number per agent, the resume position."""

from __future__ import annotations

from typing import Any

import pytest

from agentchat.feed_buffer import FeedBuffer


def message(message_id: int, agent_id: str = "a", **fields: Any) -> dict[str, Any]:
    return {"id": message_id, "agent_id": agent_id, "content": f"message {message_id}", **fields}


def ids(buffer: FeedBuffer) -> list[int]:
    return [int(kept["id"]) for kept in buffer.newest_first()]


def test_messages_come_out_newest_first_across_agents() -> None:
    buffer = FeedBuffer(max_per_agent=5)
    for message_id, agent_id in [(1, "a"), (2, "b"), (3, "a"), (4, "c")]:
        assert buffer.add(message(message_id, agent_id))
    assert ids(buffer) == [4, 3, 2, 1]
    assert buffer.received == 4 and buffer.duplicates == 0


def test_an_id_already_kept_is_dropped_and_counted_as_a_duplicate() -> None:
    buffer = FeedBuffer(max_per_agent=5)
    buffer.add(message(1))
    assert buffer.add(message(1, content="the same id again")) is False
    assert ids(buffer) == [1]
    assert buffer.newest_first()[0]["content"] == "message 1"
    assert (buffer.received, buffer.duplicates) == (1, 1)


def test_a_late_arrival_is_kept_in_id_order() -> None:
    buffer = FeedBuffer(max_per_agent=5)
    for message_id in (1, 4, 2, 3):
        buffer.add(message(message_id))
    assert ids(buffer) == [4, 3, 2, 1]


def test_each_agent_keeps_only_its_newest_max_per_agent() -> None:
    buffer = FeedBuffer(max_per_agent=2)
    for message_id in range(1, 6):
        buffer.add(message(message_id, "a"))
    buffer.add(message(6, "b"))
    assert ids(buffer) == [6, 5, 4]
    assert len(buffer) == 3


def test_a_message_older_than_a_full_agent_list_is_dropped_as_already_shown() -> None:
    buffer = FeedBuffer(max_per_agent=2)
    for message_id in (5, 6):
        buffer.add(message(message_id))
    assert buffer.add(message(3)) is False
    assert ids(buffer) == [6, 5]
    assert buffer.duplicates == 1


def test_a_trimmed_message_arriving_again_is_not_shown_again() -> None:
    buffer = FeedBuffer(max_per_agent=2)
    for message_id in (1, 2, 3):
        buffer.add(message(message_id))
    assert buffer.add(message(1)) is False  # trimmed, and older than everything kept
    assert ids(buffer) == [3, 2]


def test_memory_stays_bounded_however_many_messages_arrive() -> None:
    buffer = FeedBuffer(max_per_agent=3)
    for message_id in range(1, 10_001):
        buffer.add(message(message_id, f"agent-{message_id % 4}"))
        buffer.add(message(message_id, f"agent-{message_id % 4}"))  # every message twice, as a replay would
    assert len(buffer) == 12 and len(buffer.newest_first()) == 12
    assert (buffer.received, buffer.duplicates) == (10_000, 10_000)


def test_agents_outside_the_filter_move_the_position_but_are_not_kept() -> None:
    buffer = FeedBuffer(max_per_agent=5, agent_ids=["a"])
    assert buffer.add(message(1, "a"))
    assert buffer.add(message(7, "b")) is False
    assert ids(buffer) == [1]
    assert buffer.position == 7
    assert buffer.duplicates == 0


def test_position_is_the_highest_id_seen_and_never_moves_back() -> None:
    buffer = FeedBuffer(max_per_agent=5, position=10)
    buffer.add(message(4))
    assert buffer.position == 10
    buffer.add(message(12))
    buffer.advance(11)
    assert buffer.position == 12
    buffer.advance(20)
    assert buffer.position == 20


def test_kept_messages_are_read_only_copies() -> None:
    original = message(1)
    buffer = FeedBuffer(max_per_agent=5)
    buffer.add(original)
    original["content"] = "changed by the caller"
    kept = buffer.newest_first()[0]
    assert kept["content"] == "message 1"
    with pytest.raises(TypeError):
        kept["content"] = "changed through the buffer"  # type: ignore[index]


@pytest.mark.parametrize("bad", [{"agent_id": "a"}, {"id": None}, {"id": "seven"}])
def test_a_message_without_an_integer_id_is_refused(bad: dict[str, Any]) -> None:
    buffer = FeedBuffer(max_per_agent=5)
    with pytest.raises((KeyError, TypeError, ValueError)):
        buffer.add(bad)
    assert len(buffer) == 0


@pytest.mark.parametrize(("max_per_agent", "position"), [(0, 0), (1, -1)])
def test_impossible_limits_are_refused(max_per_agent: int, position: int) -> None:
    with pytest.raises(ValueError):
        FeedBuffer(max_per_agent, position=position)


def test_the_first_store_named_keeps_what_is_held() -> None:
    buffer = FeedBuffer(max_per_agent=5, position=7)
    buffer.add(message(8))
    assert buffer.follow_store("store-a") is False
    assert ids(buffer) == [8] and buffer.position == 8
    assert buffer.follow_store("store-a") is False and buffer.follow_store(None) is False
    assert ids(buffer) == [8]


def test_another_store_empties_the_buffer_and_starts_the_position_over() -> None:
    buffer = FeedBuffer(max_per_agent=2)
    buffer.follow_store("store-a")
    for message_id in (5, 6, 7):
        buffer.add(message(message_id))
    assert buffer.follow_store("store-b") is True
    assert ids(buffer) == [] and buffer.position == 0 and buffer.store_id == "store-b"
    # The new store's ids start low again; none of them is taken for one seen before.
    assert buffer.add(message(1, content="the new store's first"))
    assert buffer.add(message(6, content="another message than the old 6"))
    assert ids(buffer) == [6, 1] and buffer.duplicates == 0
