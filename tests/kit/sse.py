"""A background reader of one SSE stream: the events of a hub's stream, as a test waits on them.

The stream is read with sseclient-py over httpx on a real socket, in a thread; the events land in a
queue, and "nothing more came" is shown with a marker (`until_message`, `until_heartbeat`, `until_end`),
never by a quiet period.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import sseclient

from agentchat.transport import shared_tls


@dataclass
class Event:
    event: str
    data: Any
    id: str | None


_TIMEOUT = httpx.Timeout(60, connect=5)


@dataclass
class SseReader:
    """Reads one SSE stream in a thread with sseclient-py over httpx; events land in a queue."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    ended: threading.Event = field(default_factory=threading.Event)
    response: httpx.Response | None = None
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=_TIMEOUT, verify=shared_tls()))

    def start(self) -> SseReader:
        request = self._client.build_request("GET", self.url, headers=self.headers)
        self.response = self._client.send(request, stream=True)
        self.response.raise_for_status()
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.response is not None
        try:
            for event in sseclient.SSEClient(self.response.iter_raw()).events():
                self.events.put(Event(event.event, json.loads(event.data) if event.data else None, event.id))
        except (httpx.HTTPError, OSError, ValueError, RuntimeError):
            pass
        finally:
            self._client.close()  # the stream ended: its connection goes, not back to a pool
            self.ended.set()

    def next(self, kind: str | None = None, timeout: float = 30.0) -> Event:
        """The next event (of type `kind`, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind is None or event.event == kind:
                return event

    def messages(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        return [self.next("message", timeout).data for _ in range(count)]

    def until_message(self, marker_id: int, timeout: float = 20.0) -> list[Event]:
        """Every event before the message `marker_id`, which is dropped: "nothing more came" without a quiet period.

        A stream sends messages in id order, so a marker made after whatever must not arrive comes after
        it on the stream: what arrived before the marker is everything that arrived at all.
        """
        found: list[Event] = []
        while True:
            event = self.next(timeout=timeout)
            if event.event == "message" and int(event.id or 0) == marker_id:
                return found
            found.append(event)

    def until_heartbeat(self, timeout: float = 20.0) -> list[Event]:
        """Every event before the next heartbeat: after `ready`, the replay (a hub beats only live streams)."""
        found: list[Event] = []
        while (event := self.next(timeout=timeout)).event != "heartbeat":
            found.append(event)
        return found

    def until_end(self, timeout: float = 20.0) -> list[Event]:
        """Every event still to be read once the stream has ended (the hub closed it): the end is the marker."""
        if not self.ended.wait(timeout):
            raise AssertionError(f"the stream did not end within {timeout} s")
        found: list[Event] = []
        with contextlib.suppress(queue.Empty):
            while True:
                found.append(self.events.get_nowait())
        return found

    def drain(self, settle: float = 0.3, limit: float = 30.0) -> list[Event]:
        """Everything that arrives until no event but heartbeats came for `settle` seconds.

        Not a way to show that nothing more came (a loaded machine delays what would come past any
        quiet period): for that, `until_message` with a marker, `until_heartbeat` or `until_end`.
        """
        found: list[Event] = []
        deadline = time.monotonic() + limit
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle and time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=settle / 4)
            except queue.Empty:
                continue
            found.append(event)
            if event.event != "heartbeat":
                quiet_since = time.monotonic()
        return found

    def close(self) -> None:
        """Shut the socket first: it wakes the reading thread at once, heartbeat or not."""
        if self.response is None:
            return
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(httpx.HTTPError, RuntimeError):
            self.response.close()
        self._client.close()
