"""`WriterHealth`: whether the model is writing the messages, or the offline writer is standing in for it.

A model that is down, refuses the key or hangs does not stop the product: every message falls
back to the offline text (`llm.py`). That is right for the feed and wrong for an operator who is
never told. So each round's outcome is kept here, and shown where operators look: `/healthz`
(`generator`), the dashboard's Diagnostics page and a notice on its live page. The state is the
latest round's: `ok` once a round's calls all succeed again, else `degraded: <reason>` with the
first failure's reason (the provider's own error message included, with the API key masked).

Written from the worker threads that phrase rounds and read from the event loop: one lock.
"""

from __future__ import annotations

import threading
import time

__all__ = ["DEGRADED", "OFFLINE", "OK", "WriterHealth"]

OK = "ok"
OFFLINE = "offline"  # no model configured: the offline writer is the writer
DEGRADED = "degraded"


class WriterHealth:
    """The latest round's outcome: `status` is `ok`, or `degraded: <reason>` (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._since: float | None = None  # time.time() of the first failure in the current run of them

    def succeeded(self) -> None:
        with self._lock:
            self._reason = None
            self._since = None

    def failed(self, reason: str) -> None:
        with self._lock:
            self._reason = reason
            if self._since is None:
                self._since = time.time()

    @property
    def status(self) -> str:
        with self._lock:
            return OK if self._reason is None else f"{DEGRADED}: {self._reason}"

    @property
    def degraded_since(self) -> float | None:
        with self._lock:
            return self._since
