"""Resumes older than the frame window: read from the store, one read for identical concurrent resumes.

After a long outage many viewers come back with the same `Last-Event-ID` and the same filter
(they all saw the same last message). Each would read the same rows in its own worker thread;
`SharedReads` makes that read once and hands every one of them the same result, frames encoded
once, joined once.

Sharing must not cost exactness. A stream registers with the fan-out before it asks for its
history (see `stream.py`), and a read sees every message committed before it starts. A message
published after a read was started but before a later stream registered would be in neither that
read nor the stream's collected live frames. So a stream joins a read only if nothing was
published since that read was started: the key includes the fan-out's last published id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agentchat.message import Message
from agentchat.store import Bounds, Store

__all__ = ["History", "ResumeCounts", "SharedReads", "read_history"]


class ResumeCounts:
    """Where each resume (a stream with Last-Event-ID) was served from; `/metrics` reads them."""

    __slots__ = ("store", "store_shared", "window")

    def __init__(self) -> None:
        self.window = 0  # from the frame window, no store read
        self.store = 0  # a store read of its own
        self.store_shared = 0  # a store read shared with an identical concurrent resume


@dataclass(frozen=True, slots=True)
class History:
    """A resume's history from the store: bounds, the replay's frames, gap, and where live takes over."""

    bounds: Bounds
    frames: bytes
    count: int
    covered_up_to: int  # the last replayed id, or the id the replay resumed from
    gap: bool


def read_history(store: Store, agents: frozenset[str] | None, last_event_id: int, details: bool = False) -> History:
    """The history after `last_event_id` (a worker thread); with `details`, frames carry each message's details.

    A gap is either a message the live window no longer holds after the client's id
    (`Bounds.gap`) or an id the store never handed out (a reset store or another one): then the
    replay starts from the beginning.
    """
    bounds = store.bounds()
    wanted = sorted(agents) if agents else None
    resume_from = last_event_id
    if last_event_id > (bounds.last_id or 0) and last_event_id > store.last_assigned_id():
        replay, gap, resume_from = store.all_since(0, wanted), True, 0
    else:
        replay = store.all_since(last_event_id, wanted)
        gap = bounds.gap(last_event_id)
    frames = _frames(replay, details)
    return History(bounds, frames, len(replay), max(replay[-1].id if replay else 0, resume_from), gap)


def _frames(replay: list[Message], details: bool = False) -> bytes:
    return b"".join(message.sse_frame(details) for message in replay)


Key = tuple[int, frozenset[str] | None, int]  # Last-Event-ID, filter, last published id when the read began


class SharedReads:
    """Store reads for resumes, shared by identical concurrent ones (see the module docstring)."""

    def __init__(self, read: Callable[[frozenset[str] | None, int], Awaitable[History]]) -> None:
        self._read = read
        self._running: dict[Key, asyncio.Future[History]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def history(
        self, agents: frozenset[str] | None, last_event_id: int, published_id: int
    ) -> tuple[History, bool]:
        """The history for this resume, and whether it was shared with a read already running."""
        key = (last_event_id, agents, published_id)
        running = self._running.get(key)
        shared = running is not None
        if running is None:
            running = self._running[key] = asyncio.ensure_future(self._read(agents, last_event_id))
            running.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(running), shared

    def _finished(self, key: Key, done: asyncio.Future[History]) -> None:
        self._running.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone (their clients left)
