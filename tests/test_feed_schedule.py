"""FeedSchedule on its own: when a feed connects and polls, on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from agentchat.feed_schedule import DEFAULT_RETRY_SECONDS, FeedSchedule


def schedule(sse: bool = True, polling: bool = True, jitter: float = 1.0) -> FeedSchedule:
    return FeedSchedule(
        sse=sse,
        polling=polling,
        poll_interval_seconds=45,
        max_backoff_seconds=10,
        now=0.0,
        jitter=lambda: jitter,
    )


def test_the_first_connect_is_due_at_once_and_nothing_polls_before_it_fails() -> None:
    timetable = schedule()
    assert timetable.connect_due(0.0)
    assert not timetable.poll_due(0.0, asked=True)
    assert not timetable.polling


def test_a_failed_first_connect_starts_polling_at_once_and_retries_after_the_hubs_retry() -> None:
    timetable = schedule()
    timetable.stream_ended(now=1.0, went_live=False)
    assert timetable.polling and timetable.poll_due(1.0)
    assert not timetable.connect_due(1.0 + DEFAULT_RETRY_SECONDS - 0.01)
    assert timetable.connect_due(1.0 + DEFAULT_RETRY_SECONDS)


def test_polls_follow_every_interval_between_connect_attempts() -> None:
    timetable = schedule()
    timetable.stream_ended(now=0.0, went_live=False)
    timetable.polled(now=0.5)
    assert not timetable.poll_due(45.0)
    assert timetable.poll_due(45.5)


def test_the_backoff_doubles_per_consecutive_failure_up_to_the_cap() -> None:
    timetable = schedule(polling=False)
    waits = []
    for _ in range(5):
        timetable.stream_ended(now=0.0, went_live=False)
        waits.append(timetable.seconds_until_due(0.0))
    assert waits == [3.0, 6.0, 10.0, 10.0, 10.0]


def test_a_stream_that_went_live_resets_the_backoff_and_polls_at_once_when_it_ends() -> None:
    timetable = schedule()
    for _ in range(3):
        timetable.stream_ended(now=0.0, went_live=False)
    timetable.polled(now=0.0)
    timetable.stream_ended(now=100.0, went_live=True)
    assert timetable.poll_due(100.0)
    timetable.polled(now=100.0)
    assert timetable.seconds_until_due(100.0) == DEFAULT_RETRY_SECONDS


def test_the_hubs_retry_is_the_base_of_the_backoff() -> None:
    timetable = schedule()
    timetable.retry_seconds = 0.5
    assert [timetable.backoff_seconds(failures) for failures in (1, 2, 3)] == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("jitter", [0.8, 1.2])
def test_jitter_scales_the_wait_within_twenty_percent(jitter: float) -> None:
    assert schedule(jitter=jitter).backoff_seconds(1) == pytest.approx(DEFAULT_RETRY_SECONDS * jitter)


def test_a_poll_asked_for_is_due_at_once_while_polling() -> None:
    timetable = schedule()
    timetable.stream_ended(now=0.0, went_live=False)
    timetable.polled(now=0.0)
    assert not timetable.poll_due(1.0)
    assert timetable.poll_due(1.0, asked=True)


def test_polling_only_polls_at_once_and_never_connects() -> None:
    timetable = schedule(sse=False)
    assert timetable.polling and timetable.poll_due(0.0)
    assert not timetable.connect_due(1e9)
    timetable.polled(now=0.0)
    assert timetable.seconds_until_due(10.0) == 35.0


def test_sse_only_never_polls_after_a_failure() -> None:
    timetable = schedule(polling=False)
    timetable.stream_ended(now=0.0, went_live=False)
    assert not timetable.polling and not timetable.poll_due(0.0, asked=True)
    assert timetable.seconds_until_due(1.0) == DEFAULT_RETRY_SECONDS - 1.0


def test_nothing_is_ever_due_with_sse_and_polling_both_disabled() -> None:
    timetable = schedule(sse=False, polling=False)
    assert not timetable.connect_due(1e9) and not timetable.poll_due(1e9, asked=True)
    assert timetable.seconds_until_due(0.0) is None


def test_the_wait_is_until_the_sooner_of_the_next_connect_and_the_next_poll() -> None:
    timetable = schedule()
    timetable.stream_ended(now=0.0, went_live=False)
    assert timetable.seconds_until_due(0.0) == 0.0  # the poll is due now
    timetable.polled(now=0.0)
    assert timetable.seconds_until_due(1.0) == DEFAULT_RETRY_SECONDS - 1.0


@pytest.mark.parametrize("jitter", [0.8, 1.2])
def test_the_first_reconnect_after_a_live_stream_is_jittered_too(jitter: float) -> None:
    """After a restart every feed's first retry is the hub's `retry:` times its own jitter, not the same for all."""
    timetable = schedule(polling=False, jitter=jitter)
    timetable.retry_seconds = 2.0
    timetable.stream_ended(now=10.0, went_live=True)
    assert timetable.seconds_until_due(10.0) == pytest.approx(2.0 * jitter)


def test_the_default_jitter_differs_from_feed_to_feed() -> None:
    waits = set()
    for _ in range(20):
        timetable = FeedSchedule(sse=True, polling=False, poll_interval_seconds=45, max_backoff_seconds=10, now=0.0)
        timetable.stream_ended(now=0.0, went_live=True)
        wait = timetable.seconds_until_due(0.0)
        assert wait is not None and 0.8 * DEFAULT_RETRY_SECONDS <= wait <= 1.2 * DEFAULT_RETRY_SECONDS
        waits.add(wait)
    assert len(waits) > 1
