"""The frame window: the recent published messages and their SSE frames, to resume from memory.

A viewer that reconnects with `Last-Event-ID` (a hub restart, a proxy blip) is usually only a few
messages behind. Reading those from the store costs a worker-thread hop and a query per viewer;
10,000 viewers back at once kept a hub's core busy for seconds. The window holds the frames the
fan-out already encoded, so such a resume is a slice of a list (`bench/storm.py` measures it).

Deliberate choices:

- **Bounded by count and bytes** (`AGENTCHAT_RESUME_WINDOW_MESSAGES`, `..._BYTES`): the oldest go
  first. The defaults hold thousands of messages, hours of the scheduler's traffic and minutes of
  a busy feed, in a few MiB.
- **Exact from a floor.** The window holds *every* committed message with an id above `floor`.
  It is a bus listener, so it sees each id once, in id order, as the fan-out does; evicting a
  message raises the floor to its id. A resume with `floor <= Last-Event-ID <= last_id` is served
  here; one below the floor, or above every id this hub has seen (a reset store, or another hub's
  message the bus has not brought yet), goes to the store (`resume.py`), which knows those cases.
  So does `Last-Event-ID: 0` (the whole history), and every resume while the bus is not delivering
  or while the store, as last read by the stream endpoint, has an id the window lacks (a message
  written by other means): the window is a cache of the store, never an authority over it
  (`stream.StreamEndpoint._from_window`).
- **Filled once at start**, from the store's newest retained messages (`fill`), before the bus
  starts; the bus is then told to deliver everything after the window's last id
  (`Bus.start_after`), so no message falls between the read and the live feed. After a restart
  every viewer resumes from this one read, not from a read each. A fill that found fewer messages
  than the window holds found everything retained: its floor is 0.
- **Retention as the store applies it.** The store serves a message only while
  `created_at >= now - retention`; the window applies the same test on every resume, and expired
  messages at its head are dropped, so it never replays what a store read would not. Dropping
  those does not raise the floor: above it, the window still holds every message a read would
  return. `gap` follows the store's rule too: the resume is below the oldest retained id - 1.
- **Filters as live delivery applies them**: a stream that follows some agents is replayed only
  their messages.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agentchat.message import Message, utc_now

__all__ = ["FrameWindow", "WindowReplay"]

COMPACT_AFTER = 1024  # evicted slots kept at the head of the lists before they are cut off


@dataclass(frozen=True, slots=True)
class WindowReplay:
    """What a resume from the window sends: the frames, and where live delivery takes over."""

    frames: bytes  # the missed messages' frames, joined, in id order
    count: int
    covered_up_to: int  # every message up to this id is accounted for (replayed or not wanted)
    gap: bool  # messages after Last-Event-ID were removed by retention
    earliest_id: int | None  # the oldest retained id in the window


class FrameWindow:
    """The last published messages with their frames; see the module docstring."""

    def __init__(self, max_messages: int, max_bytes: int, retention_seconds: float) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.retention = timedelta(seconds=retention_seconds)
        self.filled = False  # until `fill`, every resume goes to the store
        self.floor = 0  # every message with a larger id is here (once filled)
        self.last_id = 0
        self.bytes = 0
        self._head = 0  # index of the oldest kept entry in the lists below
        self._ids: list[int] = []
        self._messages: list[Message] = []
        self._frames: list[bytes] = []

    def __len__(self) -> int:
        return len(self._ids) - self._head

    @property
    def enabled(self) -> bool:
        return self.max_messages > 0 and self.max_bytes > 0

    def fill(self, newest: Sequence[Message]) -> None:
        """Start from the store's newest retained messages, oldest first (at most `max_messages`)."""
        self._head, self._ids, self._messages, self._frames, self.bytes = 0, [], [], [], 0
        complete = len(newest) < self.max_messages  # the read found everything retained
        self.floor = 0 if complete or not newest else newest[0].id - 1
        self.last_id = newest[-1].id if newest else 0
        self.filled = self.enabled
        self._append(newest)

    def remember(self, messages: Sequence[Message]) -> None:
        """Bus listener: each id once, in id order, as the fan-out gets them."""
        if not self.filled or not messages:
            return
        self.last_id = messages[-1].id
        self._append(messages)

    def resume(self, last_event_id: int, agents: frozenset[str] | None) -> WindowReplay | None:
        """The replay after `last_event_id` for a stream with filter `agents`; None when the store must answer."""
        if not self.filled or not self.floor <= last_event_id <= self.last_id:
            return None
        oldest = utc_now() - self.retention
        self._drop_expired(oldest)
        ids, messages, frames = self._ids, self._messages, self._frames
        start = bisect_right(ids, last_event_id, self._head)
        picked = [
            frames[index]
            for index in range(start, len(ids))
            if messages[index].created_at >= oldest and (agents is None or messages[index].agent_id in agents)
        ]
        earliest_id = ids[self._head] if len(self) else None
        gap = earliest_id is not None and last_event_id < earliest_id - 1
        return WindowReplay(b"".join(picked), len(picked), self.last_id, gap, earliest_id)

    def _append(self, messages: Sequence[Message]) -> None:
        if not self.filled:
            return
        for message in messages:
            frame = message.sse_frame()
            self._ids.append(message.id)
            self._messages.append(message)
            self._frames.append(frame)
            self.bytes += len(frame)
        while len(self) > self.max_messages or (self.bytes > self.max_bytes and len(self)):
            self._evict_oldest()
        self._compact()

    def _drop_expired(self, oldest: datetime) -> None:
        """Expired messages at the head go; the floor stays, as no read would serve them either."""
        messages = self._messages
        while len(self) and messages[self._head].created_at < oldest:
            self._evict_oldest(raise_floor=False)
        self._compact()

    def _evict_oldest(self, raise_floor: bool = True) -> None:
        head = self._head
        if raise_floor:
            self.floor = self._ids[head]
        self.bytes -= len(self._frames[head])
        self._head = head + 1

    def _compact(self) -> None:
        head = self._head
        if head >= COMPACT_AFTER or (head and head == len(self._ids)):
            del self._ids[:head], self._messages[:head], self._frames[:head]
            self._head = 0
