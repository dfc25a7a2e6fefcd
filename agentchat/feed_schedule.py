"""`FeedSchedule`: when a feed next opens its stream and when it next polls.

A timetable over readings of the monotonic clock that the feed passes in; it keeps no clock,
thread or socket of its own, so its rules are unit-tested as they are:

- **Stream first.** With SSE enabled the first connect is due at once; with SSE disabled and
  polling enabled the first poll is.
- **Backoff.** After a stream ends, the next connect waits the hub's `retry:` (3 s until a stream
  says otherwise), doubled per consecutive failure, capped at `max_backoff_seconds`, with ±20 %
  jitter so that feeds cut off together do not reconnect together. A stream that went live
  resets the count: its end is one failure.
- **Fallback polling.** When SSE goes down (the first failure, or a live stream ending), a poll
  is due at once, then every `poll_interval_seconds` between connect attempts. A poll asked for
  (`poll_now`) is due at once, but only while polling.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

__all__ = ["DEFAULT_RETRY_SECONDS", "FeedSchedule"]

DEFAULT_RETRY_SECONDS = 3.0  # what the hub sends; used until a stream says otherwise


def _jitter() -> float:
    return random.uniform(0.8, 1.2)


class FeedSchedule:
    """The next connect and the next poll of one feed; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        sse: bool,
        polling: bool,
        poll_interval_seconds: float,
        max_backoff_seconds: float,
        now: float,
        jitter: Callable[[], float] = _jitter,
    ) -> None:
        self.polling_enabled = polling
        self.poll_interval_seconds = poll_interval_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.retry_seconds = DEFAULT_RETRY_SECONDS  # the hub's `retry:`, set by the feed as streams send it
        self._jitter = jitter
        self._failures = 0  # consecutive stream attempts that ended without going live, or 1 after a live one
        self._next_connect = now if sse else math.inf
        self._polling = polling and not sse  # SSE is down and polling is allowed
        self._next_poll = now if self._polling else math.inf

    @property
    def polling(self) -> bool:
        """Whether polls are being made between connect attempts (SSE is down)."""
        return self._polling

    def connect_due(self, now: float) -> bool:
        return now >= self._next_connect

    def poll_due(self, now: float, asked: bool = False) -> bool:
        return self._polling and (asked or now >= self._next_poll)

    def seconds_until_due(self, now: float) -> float | None:
        """How long nothing is due (0 if something is); None when nothing ever will be."""
        due_at = min(self._next_connect, self._next_poll if self._polling else math.inf)
        return None if due_at == math.inf else max(0.0, due_at - now)

    def stream_ended(self, now: float, went_live: bool) -> None:
        """A stream attempt is over: schedule the next one, and start polling if SSE just went down."""
        self._failures = 1 if went_live else self._failures + 1
        self._next_connect = now + self.backoff_seconds(self._failures)
        if self.polling_enabled and (went_live or not self._polling):
            self._polling, self._next_poll = True, now

    def polled(self, now: float) -> None:
        """A poll is over (whatever its outcome): the next one is an interval away."""
        self._next_poll = now + self.poll_interval_seconds

    def backoff_seconds(self, failures: int) -> float:
        """The wait before the next connect after `failures` consecutive failures, jitter included."""
        delay = min(self.max_backoff_seconds, self.retry_seconds * 2 ** (failures - 1))
        return float(delay * self._jitter())
