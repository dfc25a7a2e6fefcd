"""`HeadWatch`: every connection waiting for a request head has a size bound, a deadline and a place in the budget.

A request head (request line and headers) is what a server must read before any route can say
no. Without a bound, one unauthenticated connection decides how much the server reads and parses
and for how long it keeps a socket:

- **Size.** uvicorn's httptools protocol parses a head of any size, and parsing grows faster than
  the head (a 128 MiB header held the event loop for 20 s, every stream frozen). So the bytes of a
  head are counted as they arrive, *before* they are handed to the parser, and past
  `MAX_HEAD_BYTES` the connection is answered 431 and closed (`sockets/protocols.py` does the
  counting under both protocols, httptools and h11).
- **Time.** A connection that is waiting for a head (just opened, or idle between two requests)
  must complete one within `AGENTCHAT_HEAD_TIMEOUT_SECONDS`, or it is closed (with a 408 when some
  of a head had arrived). A client sending one byte every few seconds holds a socket no longer.
- **Budget.** Every connection is a descriptor, and the hub's descriptor budget is the one its
  stream cap is derived from (`limits.py`). Connections waiting for a head count against it with
  the streams: when a new one would go past it, the one that has waited longest is closed. A
  flood of idle connections therefore cannot take the descriptors `/healthz`, generate and new
  streams need; it only shortens its own connections' wait.

Each refusal is counted in `/metrics` (`agentchat_connections_refused_total{reason}`) and logged,
at most one line per reason every `LOG_EVERY_SECONDS` with the number since the last line, so a
flood is visible without flooding the log. The watch knows nothing of uvicorn: a connection is
anything with `refuse(status, code, detail)`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["LOG_EVERY_SECONDS", "MAX_HEAD_BYTES", "HeadWatch", "Refusable"]

logger = logging.getLogger("agentchat.hub")

MAX_HEAD_BYTES = 64 * 1024  # request line and headers; the guard's header check (32 KiB) stays beneath
LOG_EVERY_SECONDS = 10.0
TIMER_SLACK_SECONDS = 0.002

# The reasons, as labelled in /metrics.
HEAD_TOO_LARGE = "head_too_large"
HEAD_TIMEOUT = "head_timeout"
OVER_BUDGET = "over_budget"


class Refusable(Protocol):
    """A connection the watch can end: with an HTTP status and JSON error (None: just close)."""

    def refuse(self, status: int | None, code: str, detail: str) -> None: ...


class HeadWatch:
    """The connections of one server that wait for a request head (see the module docstring)."""

    def __init__(
        self,
        head_timeout_seconds: float,
        budget: Callable[[], int],
        on_refused: Callable[[str], None] = lambda _reason: None,
        max_head_bytes: int = MAX_HEAD_BYTES,
    ) -> None:
        self.head_timeout_seconds = head_timeout_seconds
        self.max_head_bytes = max_head_bytes
        self._budget = budget  # descriptors left for waiting connections (the budget less open streams)
        self._on_refused = on_refused
        # Each waiting connection's deadline (loop time), in insertion order: longest waiting and first due first
        self._waiting: dict[Refusable, float] = {}
        self._sweep: asyncio.TimerHandle | None = None  # one timer, for the first deadline
        self._unlogged: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def waiting(self, connection: Refusable) -> None:
        """`connection` now waits for a head: its deadline starts; past the budget the longest waiting one goes."""
        self.arrived(connection)
        if self._waiting and len(self._waiting) >= self._budget():
            oldest = next(iter(self._waiting))
            self.arrived(oldest)
            self.refused(OVER_BUDGET)
            oldest.refuse(None, "hub_full", "the hub is at its connection limit")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.head_timeout_seconds
        self._waiting[connection] = deadline
        if self._sweep is None:
            self._sweep = loop.call_at(deadline, self._expire_due)

    def arrived(self, connection: Refusable) -> None:
        """A head arrived on `connection` (or it closed): it waits no more."""
        self._waiting.pop(connection, None)

    def too_large(self, connection: Refusable) -> None:
        self.arrived(connection)
        self.refused(HEAD_TOO_LARGE)
        connection.refuse(
            431, "headers_too_large", f"the request head is over the limit of {self.max_head_bytes} bytes"
        )

    def _expire_due(self) -> None:
        """Refuse every connection past its deadline; the timer then waits for the next deadline, if any.

        One timer for all rather than one per connection: a connection's wait is then two dictionary
        operations, where a timer of its own was a loop handle made and cancelled per connect.
        """
        self._sweep = None
        loop = asyncio.get_running_loop()
        due = loop.time() + TIMER_SLACK_SECONDS  # a loop's timer may fire a rounding early
        waiting = self._waiting
        while waiting:
            connection, deadline = next(iter(waiting.items()))
            if deadline > due:
                self._sweep = loop.call_at(deadline, self._expire_due)
                return
            del waiting[connection]
            self.refused(HEAD_TIMEOUT)
            connection.refuse(
                408, "request_timeout", f"the request head did not arrive within {self.head_timeout_seconds:g} s"
            )

    def refused(self, reason: str) -> None:
        """Count one refusal, and log it unless a line for the same reason went out recently."""
        self._on_refused(reason)
        now = time.monotonic()
        self._unlogged[reason] = self._unlogged.get(reason, 0) + 1
        if now - self._logged_at.get(reason, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
            count = self._unlogged.pop(reason)
            self._logged_at[reason] = now
            logger.warning(
                "refused %d connection%s: %s (limits: head %d bytes, %g s; %d waiting)",
                count,
                "" if count == 1 else "s",
                reason,
                self.max_head_bytes,
                self.head_timeout_seconds,
                len(self._waiting),
            )
