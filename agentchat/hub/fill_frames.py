"""`event: book` after an external agent's fill: the books as the fill left them, on every hub.

A fill does not start a round, so `BookFrames` (which sends a frame per new round) has nothing new
to send for it. The fill rewrites the current round's book history in its own transaction
(`SimulationStore.save_fill`), and every hub learns of the fill's message from the bus; so this listener,
on a message from an external agent that traded, has `BookFrames.refresh_latest` read the latest
round's books from the store and hand them to `BookFrames.refresh`: a full frame (`full: true`) of
that round to the streams that asked for books, which replaces what they hold (a change frame of a
round they already hold would be ignored by the client's rule). Several fills in one batch send one
frame, with the books after the last of them. While no stream asked for books nothing is read: `BookFrames` notes that
its latest books are stale and reads them again when a stream asks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Sequence

from agentchat.hub.book_frames import BookFrames
from agentchat.message import Message

__all__ = ["FillFrames"]


class FillFrames:
    """Bus listener: one `book` frame per batch holding an external agent's fill."""

    def __init__(self, book_frames: BookFrames, external_ids: Collection[str]) -> None:
        self.book_frames = book_frames
        self.external_ids = frozenset(external_ids)
        self.sent = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def on_messages(self, messages: Sequence[Message]) -> None:
        if any(m.agent_id in self.external_ids and m.meta.get("side") is not None for m in messages):
            if not self.book_frames.wanted():
                self.book_frames.stale = True  # nobody to send them to: read when a stream asks
                return
            task = asyncio.ensure_future(self._send())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        if await self.book_frames.refresh_latest():
            self.sent += 1

    async def stop(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
