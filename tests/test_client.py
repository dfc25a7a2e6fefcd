"""RealtimeAgentMessages against real hub processes: realtime, fallback, recovery, dedupe, shutdown."""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentchat import RealtimeAgentMessages
from agentchat.event_stream import RetryWatcher
from tests.kit.aging import age_messages
from tests.kit.hubs import HubProcess, InProcessHub
from tests.kit.ports import free_port
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

FeedFactory = Callable[..., RealtimeAgentMessages]


@pytest.fixture
def open_feed() -> Iterator[FeedFactory]:
    """Open feeds with test-friendly timings (fast backoff, 1 s polls); every one is closed afterwards.

    Requests may take 10 s: a loaded machine must not make a live stream look down (and start polls).
    """
    feeds: list[RealtimeAgentMessages] = []

    def open_(hub_url: str, **options: Any) -> RealtimeAgentMessages:
        options = {"fallback_poll_interval": 1, "max_backoff_seconds": 0.3, "request_timeout": 10, **options}
        feed = RealtimeAgentMessages(hub_url, **options)
        feeds.append(feed)
        return feed

    yield open_
    for feed in feeds:
        feed.close()


def ids(messages: list[dict[str, Any]]) -> list[int]:
    return [int(message["id"]) for message in messages]


def is_realtime(feed: RealtimeAgentMessages) -> bool:
    return feed.state == "realtime"


def test_new_feed_shows_the_retained_history_and_goes_realtime(hub: InProcessHub, open_feed: FeedFactory) -> None:
    made = hub.generate().json()["messages"]
    feed = open_feed(hub.url)
    wait_until(lambda: is_realtime(feed) and len(feed.messages) == len(made), timeout=30)
    assert ids(feed.messages) == sorted(ids(made), reverse=True)
    assert feed.messages[0] == made[-1]


def test_generated_messages_reach_the_feed_by_its_stream(hub: InProcessHub, open_feed: FeedFactory) -> None:
    """Delivered as they are made, by the stream: the feed's only poll is ten minutes away (bench/latency.py
    measures how fast). Its liveness timeout is as far: heartbeats a loaded machine delays past two
    periods would otherwise drop the stream and start a poll, which is not what this test is about."""
    feed = open_feed(hub.url, fallback_poll_interval=600, liveness_seconds=600)
    wait_until(lambda: is_realtime(feed), timeout=30)
    made = hub.generate().json()["messages"]
    wait_until(lambda: len(feed.messages) == len(made), timeout=30)
    diagnostics = feed.snapshot().diagnostics
    assert diagnostics.polls == 0 and diagnostics.messages_received == len(made)
    assert len(diagnostics.latencies_seconds) == len(made)  # each one timed as a live delivery
    assert diagnostics.last_event_id == made[-1]["id"]


def test_messages_are_newest_first_and_at_most_max_per_agent_each(hub: InProcessHub, open_feed: FeedFactory) -> None:
    history = hub.generate().json()["messages"] + hub.generate().json()["messages"]
    feed = open_feed(hub.url, max_per_agent=2)
    wait_until(lambda: is_realtime(feed), timeout=30)
    live = hub.generate().json()["messages"]
    newest_two_each = [m for m in history + live if m["id"] > history[5]["id"]]
    wait_until(lambda: ids(feed.messages) == sorted(ids(newest_two_each), reverse=True), timeout=30)
    per_agent: dict[str, int] = {}
    for message in feed.messages:
        per_agent[message["agent_id"]] = per_agent.get(message["agent_id"], 0) + 1
    assert set(per_agent.values()) == {2}


def test_agent_filter_is_applied_by_the_hub_not_only_by_the_client(hub: InProcessHub, open_feed: FeedFactory) -> None:
    feed = open_feed(hub.url, agent_ids=["claude_arbitrage", "grok_sentiment"])
    wait_until(lambda: is_realtime(feed), timeout=30)
    hub.generate()
    wait_until(lambda: len(feed.messages) == 2, timeout=30)
    assert {message["agent_id"] for message in feed.messages} == {"claude_arbitrage", "grok_sentiment"}
    assert hub.metric("agentchat_messages_delivered_total") == 2  # the hub sent our stream only these two


def test_feed_started_after_an_id_shows_only_later_messages(hub: InProcessHub, open_feed: FeedFactory) -> None:
    made = hub.generate().json()["messages"]
    feed = open_feed(hub.url, last_event_id=made[3]["id"])
    wait_until(lambda: is_realtime(feed) and len(feed.messages) == 2, timeout=30)
    assert ids(feed.messages) == [made[5]["id"], made[4]["id"]]


def test_feed_returns_to_realtime_after_hub_kill_and_restart_with_every_message_once(
    start_hub_process: Callable[..., HubProcess], open_feed: FeedFactory
) -> None:
    start_hub = start_hub_process
    first_hub = start_hub(heartbeat_seconds=0.5)
    feed = open_feed(first_hub.url, max_per_agent=50)
    wait_until(lambda: is_realtime(feed), timeout=30)
    made = first_hub.generate().json()["messages"]
    wait_until(lambda: len(feed.messages) == len(made), timeout=30)

    first_hub.kill()
    wait_until(lambda: feed.state in ("polling", "error"), timeout=30)

    def refused() -> bool:  # the broken stream is reported first, then the first poll's refusal
        last_error = feed.snapshot().diagnostics.last_error or ""
        return "connection refused" in last_error or "connection reset" in last_error  # reset: killed mid-accept

    wait_until(refused, timeout=30)

    stand_in = start_hub(heartbeat_seconds=0.5)  # same SQLite file, another port
    made += stand_in.generate().json()["messages"] + stand_in.generate().json()["messages"]
    stand_in.terminate()

    restarted = start_hub(port=first_hub.port, heartbeat_seconds=0.5)
    healthy_at = time.monotonic()
    wait_until(lambda: is_realtime(feed), timeout=30, interval=0.01)
    print(f"\nreconnect to realtime {time.monotonic() - healthy_at:.3f} s after the restarted hub was healthy")
    wait_until(lambda: len(feed.messages) == len(made), timeout=30)
    marker = restarted.generate(["claude_arbitrage"]).json()["messages"]  # anything arriving twice comes before it
    wait_until(lambda: feed.messages and feed.messages[0]["id"] == marker[0]["id"], timeout=30)
    shown = feed.messages
    assert shown.pop(0) == marker[0]
    assert ids(shown) == sorted(ids(made), reverse=True)
    assert shown == sorted(made, key=lambda message: message["id"], reverse=True)
    assert restarted.messages()["messages"] == made + marker
    assert feed.snapshot().diagnostics.reconnects >= 1


def test_polling_only_feed_receives_every_message_within_one_interval(
    hub: InProcessHub, open_feed: FeedFactory
) -> None:
    feed = open_feed(hub.url, enable_sse=False, fallback_poll_interval=2)
    wait_until(lambda: feed.state == "polling", timeout=30)
    made = hub.generate().json()["messages"]
    snapshot = feed.snapshot()
    polls_when_made = snapshot.diagnostics.polls
    for _ in range(1000):  # every change seen, so `polls` is that of the poll that brought them
        if len(snapshot.messages) == len(made):
            break
        feed.wait_for_change(snapshot.version, timeout=30)
        snapshot = feed.snapshot()
    assert len(snapshot.messages) == len(made)
    # Counted in polls, not seconds: one under way when they were made (it may have missed them), and the next.
    assert snapshot.diagnostics.polls <= polls_when_made + 2
    assert ids(feed.messages) == sorted(ids(made), reverse=True)
    assert hub.metric("agentchat_clients_connections_total") == 0  # it never opened a stream
    assert feed.state == "polling"


def test_poll_now_fetches_new_messages_at_once_while_polling(hub: InProcessHub, open_feed: FeedFactory) -> None:
    feed = open_feed(hub.url, enable_sse=False, fallback_poll_interval=600)
    wait_until(lambda: feed.state == "polling", timeout=30)
    made = hub.generate().json()["messages"]
    assert feed.poll_now(timeout=30)  # a ceiling for a hang only
    assert ids(feed.messages) == sorted(ids(made), reverse=True)


def test_poll_now_does_nothing_while_the_stream_is_live(hub: InProcessHub, open_feed: FeedFactory) -> None:
    feed = open_feed(hub.url, liveness_seconds=600)  # live throughout, however late heartbeats come
    wait_until(lambda: feed.state == "realtime", timeout=30)
    assert feed.poll_now(timeout=1) is False
    assert feed.snapshot().diagnostics.polls == 0


def test_silent_stream_is_declared_dead_after_two_heartbeat_periods_and_recovers(
    hub_process: HubProcess, open_feed: FeedFactory
) -> None:
    hub = hub_process
    feed = open_feed(hub.url, request_timeout=30)
    wait_until(lambda: is_realtime(feed) and feed.snapshot().diagnostics.heartbeats > 0, timeout=30)
    assert hub.process is not None
    hub.process.send_signal(signal.SIGSTOP)  # the connection stays open, but nothing comes through it
    try:
        wait_until(lambda: not is_realtime(feed), timeout=20, interval=0.02)
        declared_dead_at = datetime.now(UTC)
        diagnostics = feed.snapshot().diagnostics
        assert diagnostics.last_heartbeat_at is not None
        silent = (declared_dead_at - diagnostics.last_heartbeat_at).total_seconds()
        # Not before two 0.5 s periods; and by the liveness timeout, not the 30 s request timeout.
        assert silent >= 0.9
        assert "two heartbeat periods" in (diagnostics.last_error or "")
    finally:
        hub.process.send_signal(signal.SIGCONT)
    wait_until(lambda: is_realtime(feed), timeout=30)
    made = hub.generate().json()["messages"]
    wait_until(lambda: len(feed.messages) == len(made), timeout=30)


def test_liveness_follows_the_heartbeat_period_even_with_a_longer_request_timeout(
    hub_process: HubProcess, open_feed: FeedFactory
) -> None:
    hub = hub_process
    feed = open_feed(hub.url, request_timeout=30)
    wait_until(lambda: is_realtime(feed) and feed.snapshot().diagnostics.heartbeats > 0, timeout=30)
    assert hub.process is not None
    hub.process.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: not is_realtime(feed), timeout=20, interval=0.02)  # two 0.5 s periods, not 30 s
        assert "two heartbeat periods" in (feed.snapshot().diagnostics.last_error or "")
    finally:
        hub.process.send_signal(signal.SIGCONT)


def test_feed_for_a_hub_that_is_down_says_why_and_recovers_when_it_starts(
    start_hub: Callable[..., InProcessHub], open_feed: FeedFactory
) -> None:
    port = free_port()
    feed = open_feed(f"http://127.0.0.1:{port}")
    wait_until(lambda: feed.state == "error", timeout=30)
    assert "connection refused" in (feed.snapshot().diagnostics.last_error or "")
    hub = start_hub(port=port, heartbeat_seconds=0.5)
    made = hub.generate().json()["messages"]
    wait_until(lambda: is_realtime(feed) and len(feed.messages) == len(made), timeout=30)


def test_resume_from_before_retention_shows_a_gap_in_diagnostics(
    start_hub: Callable[..., InProcessHub], open_feed: FeedFactory
) -> None:
    first = start_hub(heartbeat_seconds=0.5)
    expired = first.generate().json()["messages"]
    first.stop()
    age_messages(first.settings.database_url, 3600)  # an hour old: past the retention of the hub started next
    hub = start_hub(heartbeat_seconds=0.5, retention_seconds=600, max_per_agent=1)  # the window: 600 s or the latest
    retained = hub.generate().json()["messages"]
    resumed = open_feed(hub.url, last_event_id=expired[0]["id"])
    fresh = open_feed(hub.url)  # from 0: nothing was ever seen, so nothing was lost
    wait_until(lambda: len(resumed.messages) == len(fresh.messages) == len(retained), timeout=30)
    assert resumed.snapshot().diagnostics.gap is True
    assert fresh.snapshot().diagnostics.gap is False


def test_wait_for_change_wakes_when_a_message_arrives(
    start_hub: Callable[..., InProcessHub], open_feed: FeedFactory
) -> None:
    hub = start_hub()  # 30 s heartbeats: nothing else changes the feed meanwhile
    feed = open_feed(hub.url)
    wait_until(lambda: is_realtime(feed), timeout=30)
    version = feed.snapshot().version
    changed: list[int] = []
    waiter = threading.Thread(target=lambda: changed.append(feed.wait_for_change(version, timeout=60)))
    waiter.start()
    made = hub.generate(["claude_arbitrage"]).json()["messages"]
    waiter.join(30)  # woken by the message, long before its 60 s timeout
    assert not waiter.is_alive() and changed and changed[0] != version
    assert feed.messages[0]["id"] == made[0]["id"]


def test_wait_for_change_returns_the_same_version_after_the_timeout(open_feed: FeedFactory) -> None:
    feed = open_feed("http://127.0.0.1:9", enable_sse=False, enable_fallback_polling=False)
    snapshot = feed.snapshot()
    started = time.monotonic()
    assert feed.wait_for_change(snapshot.version, timeout=0.2) == snapshot.version
    assert time.monotonic() - started >= 0.2
    assert snapshot.state == "error" and "both disabled" in (snapshot.diagnostics.last_error or "")


def test_snapshot_is_immutable_and_messages_are_read_only(hub: InProcessHub, open_feed: FeedFactory) -> None:
    hub.generate()
    feed = open_feed(hub.url)
    wait_until(lambda: len(feed.messages) == 6, timeout=30)
    snapshot = feed.snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.state = "error"  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot.messages[0]["content"] = "<b>changed</b>"  # type: ignore[index]
    feed.messages[0]["content"] = "a copy"  # `.messages` hands out copies
    assert feed.messages[0]["content"] != "a copy"


def test_close_ends_the_feed_thread_at_once_while_the_stream_is_idle(
    start_hub: Callable[..., InProcessHub], open_feed: FeedFactory
) -> None:
    hub = start_hub(heartbeat_seconds=3600)  # the feed's thread is blocked in a read that would last two hours
    feed = open_feed(hub.url, request_timeout=600)
    wait_until(lambda: is_realtime(feed), timeout=30)
    closing = threading.Thread(target=feed.close)
    closing.start()
    closing.join(30)  # close() joins the thread for a second at most; the read it wakes would not end for hours
    assert not closing.is_alive()
    wait_until(lambda: not any(thread.name.startswith("agentchat-feed") for thread in threading.enumerate()), 30)
    wait_until(lambda: hub.metric("agentchat_clients_connected") == 0, timeout=30)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_fifty_feeds_opened_and_closed_leave_no_thread_socket_or_fd(hub_process: HubProcess) -> None:
    hub = hub_process  # in a process of its own, so the hub's threads and sockets are not counted as the feeds'
    hub.generate()
    gc.collect()
    threads_before, fds_before = set(threading.enumerate()), open_fds()
    feeds = [RealtimeAgentMessages(hub.url, fallback_poll_interval=1) for _ in range(50)]
    try:
        wait_until(lambda: all(is_realtime(feed) and len(feed.messages) == 6 for feed in feeds), timeout=60)
        assert hub.metric("agentchat_clients_connected") == 50
    finally:
        for feed in feeds:
            feed.close()
    gc.collect()
    assert set(threading.enumerate()) == threads_before
    assert open_fds() == fds_before
    wait_until(lambda: hub.metric("agentchat_clients_connected") == 0, timeout=30)


@pytest.mark.parametrize(
    ("chunks", "retry"),
    [
        ([b"retry: 3000\n\n", b"event: ready\ndata: {}\n\n"], 3000),
        ([b"ret", b"ry: 1500\r\n\r\n"], 1500),
        ([b"data: retry: 10\n\n"], None),
        ([b"retry: soon\n\n"], None),
    ],
)
def test_retry_field_is_read_even_when_split_across_chunks(chunks: list[bytes], retry: int | None) -> None:
    watcher = RetryWatcher(chunks)
    assert list(watcher) == chunks
    assert watcher.retry_milliseconds == retry


def test_bad_hub_url_is_refused_before_any_thread_starts() -> None:
    before = threading.active_count()
    with pytest.raises(ValueError, match="http"):
        RealtimeAgentMessages("localhost:8000")
    assert threading.active_count() == before


def test_a_feed_told_the_hub_is_full_says_why_and_comes_back_when_there_is_room(
    start_hub: Callable[..., InProcessHub], open_feed: FeedFactory
) -> None:
    hub = start_hub(max_streams=1)
    occupant = SseReader(f"{hub.url}/api/chat/stream").start()
    occupant.next("ready")
    feed = open_feed(hub.url)
    wait_until(lambda: "unavailable for now" in (feed.snapshot().diagnostics.last_error or ""))
    occupant.close()
    wait_until(lambda: is_realtime(feed), timeout=30)


@pytest.mark.parametrize("transport", ["sse", "polling"])
@pytest.mark.parametrize("new_store_ids", ["below the feed's position", "beyond it"])
def test_a_feed_that_finds_another_store_behind_the_hub_shows_that_store_from_the_start(
    start_hub: Callable[..., InProcessHub], open_feed: FeedFactory, tmp_path: Path, transport: str, new_store_ids: str
) -> None:
    """Ids name messages of one store: after a reset the old ids would hide the new store's messages."""
    only = {"enable_fallback_polling": False} if transport == "sse" else {"enable_sse": False}
    first = start_hub(heartbeat_seconds=0.5)
    for _ in range(3):
        first.generate()
    feed = open_feed(first.url, max_per_agent=50, **only)
    wait_until(lambda: len(feed.messages) == len(first.messages()["messages"]), timeout=30)
    old_store = feed.snapshot().diagnostics.store_id
    first.stop()

    replaced = start_hub(database_url=f"sqlite:///{tmp_path / 'replaced.db'}", port=first.port, heartbeat_seconds=0.5)
    for _ in range(1 if new_store_ids == "below the feed's position" else 5):
        replaced.generate()
    made = replaced.messages()["messages"]
    wait_until(lambda: ids(feed.messages) == sorted(ids(made), reverse=True), timeout=30)
    diagnostics = feed.snapshot().diagnostics
    assert diagnostics.store_id not in (None, old_store) and diagnostics.store_changes == 1
    assert feed.messages == sorted(made, key=lambda message: message["id"], reverse=True)
    live = replaced.generate().json()["messages"]
    wait_until(lambda: len(feed.messages) == len(made) + len(live), timeout=30)
    assert diagnostics.last_error is not None and "another store" in diagnostics.last_error
