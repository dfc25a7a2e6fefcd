"""One SSE stream read on its own thread, for the benches that time a write from just before its POST
until its message is on the stream (`latency.py`, `publish.py`): each message's id and the moment
(`time.perf_counter()`) it arrived, in stream order."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time

import httpx

from agentchat.hub_client import HubClient

__all__ = ["Arrivals"]


class Arrivals:
    """The hub's stream, opened at once; `next()` is the next message's (id, arrival time)."""

    def __init__(self, hub_url: str) -> None:
        self._arrivals: queue.Queue[tuple[int, float]] = queue.Queue()
        self._reader = HubClient(hub_url, timeout=60)
        self._stream = self._reader.open_stream()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(httpx.HTTPError):  # closed at the end
            for event in self._stream.events():
                if event.event == "message":
                    self._arrivals.put((json.loads(event.data)["id"], time.perf_counter()))

    def next(self, timeout: float = 10) -> tuple[int, float]:
        return self._arrivals.get(timeout=timeout)

    def close(self) -> None:
        self._stream.shutdown()
        self._stream.close()
        self._reader.close()
