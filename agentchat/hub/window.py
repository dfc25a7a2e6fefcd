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
- **Filled once at start**, from the store's newest messages (`fill`), before the bus
  starts; the bus is then told to deliver everything after the window's last id
  (`Bus.start_after`), so no message falls between the read and the live feed. After a restart
  every viewer resumes from this one read, not from a read each. A fill that found fewer messages
  than the window holds found everything the store holds: its floor is 0.
- **The live window as the store applies it.** The store serves a message while it is in the
  window: created within `retention`, or among its agent's latest `max_per_agent` (`store.py`).
  Every message above the floor is here, so is every one of an agent's latest that is above it:
  the window applies the same test on every resume (each agent's latest ids are kept as they
  arrive), so it never replays what a store read would not. Messages out of the window stay here
  until the count and byte bounds evict them: they make the resume's `gap`, which follows the
  store's rule (`store.Bounds.gap`): a message after Last-Event-ID that no replay brings.
- **Its own clock** (`clock`, `utc_now` unless the hub hands another): "now" for the retention test,
  so a test can step time past a message's retention instead of waiting for it.
- **Filters as live delivery applies them**: a stream that follows some agents is replayed only
  their messages.
- **A storm's resumes computed once.** Thousands of viewers coming back together (`bench/storm.py`)
  mostly carry the same Last-Event-ID and filter: the last few replays are kept, keyed by those,
  until a message arrives or the clock reaches the moment one of the window's messages leaves the
  retention (the only ways the answer can change), so such a resume costs a clock read and a lookup.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agentchat.message import Message, utc_now

__all__ = ["FrameWindow", "WindowReplay"]

COMPACT_AFTER = 1024  # evicted slots kept at the head of the lists before they are cut off
KEPT_REPLAYS = 8  # distinct (Last-Event-ID, filter) replays remembered until the window changes


@dataclass(frozen=True, slots=True)
class WindowReplay:
    """What a resume from the window sends: the frames, and where live delivery takes over."""

    frames: bytes  # the missed messages' frames, joined, in id order
    count: int
    covered_up_to: int  # every message up to this id is accounted for (replayed or not wanted)
    gap: bool  # messages after Last-Event-ID are no longer in the live window
    earliest_id: int | None  # the live window's oldest id, when the window holds the whole store (floor 0)


class FrameWindow:
    """The last published messages with their frames; see the module docstring."""

    def __init__(
        self,
        max_messages: int,
        max_bytes: int,
        retention_seconds: float,
        max_per_agent: int = 20,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.retention = timedelta(seconds=retention_seconds)
        self.max_per_agent = max_per_agent
        self.clock = clock  # the time the retention test reads, timezone-aware UTC like `created_at`
        self._latest: dict[str, deque[int]] = {}  # each agent's latest ids seen, at most max_per_agent
        self.filled = False  # until `fill`, every resume goes to the store
        self.floor = 0  # every message with a larger id is here (once filled)
        self.last_id = 0
        self.bytes = 0
        self._head = 0  # index of the oldest kept entry in the lists below
        self._ids: list[int] = []
        self._messages: list[Message] = []
        self._frames: list[bytes] = []
        self._replays: dict[tuple[int, frozenset[str] | None], WindowReplay] = {}  # kept resumes, by key
        self._replays_from: datetime = clock()  # the retention's start they were made at ...
        self._replays_until: datetime | None = None  # ... and the last at which they hold (None: any later)

    def __len__(self) -> int:
        return len(self._ids) - self._head

    @property
    def enabled(self) -> bool:
        return self.max_messages > 0 and self.max_bytes > 0

    def fill(self, newest: Sequence[Message]) -> None:
        """Start from the store's newest messages (in the live window or not), oldest first (at most `max_messages`)."""
        self._head, self._ids, self._messages, self._frames, self.bytes = 0, [], [], [], 0
        self._latest = {}
        self._replays.clear()
        complete = len(newest) < self.max_messages  # the read found everything the store holds
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
        oldest = self.clock() - self.retention
        if self._replays and not self._replays_from <= oldest <= (self._replays_until or oldest):
            self._replays.clear()  # a message has left the retention since they were made (or the clock went back)
        key = (last_event_id, agents)
        replay = self._replays.get(key)
        if replay is None:
            replay = self._replay(last_event_id, agents, oldest)
            if len(self._replays) >= KEPT_REPLAYS:
                self._replays.clear()
            if not self._replays:
                self._replays_from, self._replays_until = oldest, self._next_expiry(oldest)
            self._replays[key] = replay
        return replay

    def _replay(self, last_event_id: int, agents: frozenset[str] | None, oldest: datetime) -> WindowReplay:
        floors = self._agent_floors()
        ids, messages, frames = self._ids, self._messages, self._frames
        start = bisect_right(ids, last_event_id, self._head)
        picked: list[bytes] = []
        gap = False
        for index in range(start, len(ids)):
            message = messages[index]
            if message.created_at >= oldest or message.id >= floors[message.agent_id]:
                if agents is None or message.agent_id in agents:
                    picked.append(frames[index])
            else:
                gap = True  # a message after Last-Event-ID that the live window no longer holds
        earliest_id = self._earliest(oldest)
        if earliest_id is not None and last_event_id < earliest_id - 1:
            gap = True  # the whole store is here: ids below its oldest were deleted
        return WindowReplay(b"".join(picked), len(picked), self.last_id, gap, earliest_id)

    def _next_expiry(self, oldest: datetime) -> datetime | None:
        """The earliest `created_at` of the messages still within the retention: once the retention's start
        passes it, a replay made now may be wrong. None when no message is within it."""
        messages = self._messages
        return min((m.created_at for m in messages[self._head :] if m.created_at >= oldest), default=None)

    def _agent_floors(self) -> dict[str, int]:
        """Per agent, the id from which its messages count as its latest (0: every one seen here)."""
        keep = self.max_per_agent
        return {agent: (latest[0] if len(latest) >= keep else 0) for agent, latest in self._latest.items()}

    def _earliest(self, oldest: datetime) -> int | None:
        """The live window's oldest id, when every message of the store is here (floor 0), else None.

        It is the lowest of the oldest recent message and each agent's oldest latest id.
        """
        if self.floor != 0 or not len(self):
            return None
        recent = bisect_left(self._messages, oldest, self._head, key=lambda message: message.created_at)
        found = [latest[0] for latest in self._latest.values() if latest]
        if recent < len(self._ids):
            found.append(self._ids[recent])
        return min(found) if found else None

    def _append(self, messages: Sequence[Message]) -> None:
        if not self.filled:
            return
        keep = self.max_per_agent
        for message in messages:
            latest = self._latest.get(message.agent_id)
            if latest is None:
                latest = self._latest[message.agent_id] = deque(maxlen=keep)
            latest.append(message.id)
            frame = message.sse_frame()
            self._ids.append(message.id)
            self._messages.append(message)
            self._frames.append(frame)
            self.bytes += len(frame)
        self._replays.clear()
        while len(self) > self.max_messages or (self.bytes > self.max_bytes and len(self)):
            self._evict_oldest()
        self._compact()

    def _evict_oldest(self) -> None:
        head = self._head
        self.floor = self._ids[head]
        self.bytes -= len(self._frames[head])
        self._head = head + 1

    def _compact(self) -> None:
        head = self._head
        if head >= COMPACT_AFTER or (head and head == len(self._ids)):
            del self._ids[:head], self._messages[:head], self._frames[:head]
            self._head = 0
