"""`event: book` on the stream: each round's books, sent by every hub to its own streams.

The round's books are written to the store in the round's own transaction (`ledger`), and every
hub learns of a round the way it learns of its messages: from the bus. So `BookFrames` is one more
bus listener. On a batch of messages it reads the rounds it has not sent yet from the store
(`Ledger.rounds_after`: the latest few, in order, so a hub whose bus caught up after a reconnect
sends each missed round once) and hands one frame per round to the fan-out, which encodes it once
per distinct agent filter: a stream that follows some agents gets only their books.

A book frame has no `id:` line, like `ready` and `heartbeat`: it must not move a client's
Last-Event-ID, and it is not replayed on resume (`GET /api/agents/performance` has the books now).
While the store cannot be read the frame waits for the next batch; the books in it are the round's
own, not whatever the books are by the time it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import anyio.to_thread

from agentchat.errors import StoreUnavailable
from agentchat.hub.fanout import Fanout
from agentchat.ledger import BookRound, Ledger
from agentchat.message import Message, event_frame, format_timestamp

__all__ = ["MAX_ROUNDS_PER_READ", "BookFrames", "book_payload"]

logger = logging.getLogger("agentchat.hub.books")

MAX_ROUNDS_PER_READ = 20  # a hub far behind sends the latest rounds, not its whole backlog


def book_payload(book_round: BookRound, agents: frozenset[str] | None) -> dict[str, Any]:
    """The frame's data: the round, when it was played and the books (of `agents` only, when given)."""
    entries = book_round.entries if agents is None else [e for e in book_round.entries if e["agent_id"] in agents]
    return {"round": book_round.round, "as_of": format_timestamp(book_round.at), "agents": entries}


class BookFrames:
    """Bus listener that sends one `event: book` frame per round (see the module docstring)."""

    def __init__(self, ledger: Ledger, fanout: Fanout) -> None:
        self.ledger = ledger
        self.fanout = fanout
        self.last_round: int | None = None  # None: not known yet, so only the latest round is sent
        self.sent = 0
        self._task: asyncio.Task[None] | None = None
        self._again = False

    async def start(self) -> None:
        """Remember the latest round already played: earlier rounds are not news to anyone."""
        try:
            self.last_round = await anyio.to_thread.run_sync(self.ledger.latest_round)
        except StoreUnavailable as error:
            logger.warning("book frames: cannot read the latest round yet (%s)", error.detail)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def on_messages(self, messages: Sequence[Message]) -> None:
        """Bus listener: look for new rounds (one reader at a time; a batch meanwhile asks it to look again)."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._send_new_rounds())
        else:
            self._again = True

    async def _send_new_rounds(self) -> None:
        while True:
            self._again = False
            try:
                rounds = await anyio.to_thread.run_sync(self.ledger.rounds_after, self.last_round, MAX_ROUNDS_PER_READ)
            except StoreUnavailable as error:
                logger.warning(
                    "book frames: cannot read the round's books (%s); sent with the next round", error.detail
                )
                return
            for book_round in rounds:
                self._send(book_round)
            if not self._again:
                return

    def _send(self, book_round: BookRound) -> None:
        if self.last_round is not None and book_round.round <= self.last_round:
            return
        self.last_round = book_round.round
        self.sent += 1
        self.fanout.broadcast_per_filter(lambda agents: event_frame("book", book_payload(book_round, agents)))
