"""How often one hub generates a round: at most `limit` in any window of `window_seconds`.

`POST /api/chat/generate` spends an LLM's quota and writes to every stream, and the dashboard's
**Generate** button and any holder of the token can ask for it; `AGENTCHAT_GENERATE_PER_MINUTE`
(default 60) bounds it, and the scheduler's one round per slot never comes near.

Deliberate choices:

- **A sliding log, not a token bucket.** The contract says "at most N rounds a minute": a bucket
  of N refilled at N a minute lets through up to 2N - 1 in some 60 s window (a full bucket, then
  its refill). The log keeps the time of each admitted round in the last window (a deque of at
  most `limit` floats) and admits a round only while fewer than `limit` are in it, so no window
  ever holds more. `Retry-After` is then exact: when the oldest round in the window leaves it.
- **Our own twenty lines, not a library.** `limits` (moving window) would do the same with a
  storage backend, string rate specs and async/sync variants for one in-memory counter.
- **Per hub, in memory.** Several hubs behind a load balancer each allow `limit`; a restart starts
  a fresh window. The bound is against runaway clients and buttons, not a billing meter.
- **Called from the event loop only**, where `acquire` runs without an await between looking and
  recording; so no lock is needed. The clock is `time.monotonic` unless a caller passes another
  (tests step a clock of their own instead of waiting a minute).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from agentchat.errors import RateLimited

__all__ = ["SlidingWindowLimit"]


class SlidingWindowLimit:
    """Admits at most `limit` events in any `window_seconds`; past it `acquire` raises `RateLimited`."""

    def __init__(self, limit: int, window_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a limit needs at least one event in a positive window")
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self._admitted: deque[float] = deque()

    def acquire(self, what: str) -> None:
        """Count one `what` now, or raise `RateLimited` (with the seconds to wait) if the window is full."""
        now = self.clock()
        while self._admitted and self._admitted[0] <= now - self.window_seconds:
            self._admitted.popleft()
        if len(self._admitted) >= self.limit:
            wait = max(1, math.ceil(self._admitted[0] + self.window_seconds - now))
            raise RateLimited(
                f"{what}: at most {self.limit} in {self.window_seconds:g} s on this hub; try again in {wait} s",
                retry_after_seconds=wait,
            )
        self._admitted.append(now)
