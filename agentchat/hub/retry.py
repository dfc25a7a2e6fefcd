"""The `retry:` line each stream is sent: a value per connection, drawn within a range.

Every EventSource waits its last `retry:` before it reconnects. With one value for all, a hub
restart brings every browser back in the same few milliseconds, and the first second after
the restart is a wall of connects while later seconds are idle. Drawn per connection from
`[AGENTCHAT_STREAM_RETRY_MIN_MS, AGENTCHAT_STREAM_RETRY_MAX_MS]`, the reconnects of a storm
arrive spread evenly over that range (`bench/storm.py`).

The lines are encoded once, at start, for at most `MAX_DISTINCT_VALUES` evenly spaced values:
a connect picks one, it does not format one.
"""

from __future__ import annotations

import random

__all__ = ["MAX_DISTINCT_VALUES", "RetryHint"]

MAX_DISTINCT_VALUES = 1001


class RetryHint:
    """`retry: N` lines with N in `[min_ms, max_ms]`, one drawn per call."""

    __slots__ = ("lines", "max_ms", "min_ms")

    def __init__(self, min_ms: int, max_ms: int) -> None:
        if min_ms > max_ms:
            raise ValueError(f"min_ms {min_ms} is above max_ms {max_ms}")
        self.min_ms = min_ms
        self.max_ms = max_ms
        span = max_ms - min_ms
        steps = min(span, MAX_DISTINCT_VALUES - 1)
        values = sorted({min_ms + round(span * step / steps) for step in range(steps + 1)}) if steps else [min_ms]
        self.lines: tuple[bytes, ...] = tuple(b"retry: %d\n" % value for value in values)

    def line(self) -> bytes:
        """One `retry:` line (with its newline), drawn evenly from the range."""
        return random.choice(self.lines)
