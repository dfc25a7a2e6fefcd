"""`event: book` on the stream: each round's books, sent by every hub to the streams that ask.

The round's books are written to the store in the round's own transaction (`market/storage.py`), and every
hub learns of a round the way it learns of its messages: from the bus. So `BookFrames` is one more
bus listener. On a batch of messages it reads the rounds it has not sent yet from the store
(`SimulationStore.rounds_after`: the latest few, in order, so a hub whose bus caught up after a reconnect
sends each missed round once) and hands one frame per round to the fan-out, which encodes it once
per distinct agent filter: a stream that follows some agents gets only their books.

Only streams opened with `?books=1` get book frames (`Fanout.book_subscribers`): the Python feed,
the dashboard's wake-up, a two-agent embed or `curl` never show books, and a round's books were the
larger part of what every one of them was sent. A book stream gets the books in two forms:

- `{"round", "as_of", "full": true, "agents": [...]}`: every followed agent's whole book (its
  `BookReport`, `market/report.py`), as `GET /api/agents/performance` shows it, ranked. Sent
  once when the stream goes live, from the latest round this hub sent (held in memory, so a
  connect reads no store), and whenever this hub has no earlier round to compare with.
- `{"round", "as_of", "full": false, "marks": {symbol: price}, "changes": {agent_id: change}}` for
  each round after it: `marks` once for every symbol whose mark moved (it is every position's
  `mark_price` in that symbol, so no position repeats it), and only the agents whose book or marks
  moved, with only the fields that changed. `positions` in a change is an object by symbol: the
  changed fields of a position, a new position whole, `null` for a position closed. A round moves
  the marks of every agent holding a position, but most of a book (cash, trades, quantities, average
  prices) stays, so a change is a few numbers per agent (`bench/fanout.py` prints the bytes per
  round beside the former full frames).

Why full-then-changes on the stream rather than changes only (with the full books from the API):
a client that connects, or reconnects, is complete from its first book frame without a second
request racing the stream; the full frame is made in the same step that makes the stream live
(`Fanout.go_live`), so no change falls between the two. `merge_book_frame` is the client's rule
(`agentchat.js` does the same): a full frame replaces, a change of a later round merges, a frame of
a round not newer than the one held is ignored.

A book frame has no `id:` line, like `ready` and `heartbeat`: it must not move a client's
Last-Event-ID, and it is not replayed on resume (the full frame on connect has the books now).
While the store cannot be read the frame waits for the next batch; the books in it are the round's
own, not whatever the books are by the time it is sent.

While no stream on this hub asked for books, a round costs it nothing here: the rounds are not
read. The next stream that asks gets the last books this hub sent, and the read starts at once
(`catch_up`), so the rounds it missed follow as changes right after them, each once.

An external agent's fill changes the books of the round already sent, without a new round:
`fill_frames.py` hands the books the fill left to `refresh`, which sends them as a full frame (the
client's rule ignores a change of a round it holds) and makes them the books a connect gets.

`AGENTCHAT_BOOK_FRAMES=every_stream` keeps the former behaviour reachable for `bench/fanout.py`:
every stream gets every round's full books, asked or not.
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
from agentchat.market.storage import BookRound, SimulationStore
from agentchat.message import Message, event_frame, format_timestamp

__all__ = ["MAX_ROUNDS_PER_READ", "BookFrames", "book_change", "book_payload", "merge_book_frame"]

logger = logging.getLogger("agentchat.hub.books")

MAX_ROUNDS_PER_READ = 20  # a hub far behind sends the latest rounds, not its whole backlog

Entry = dict[str, Any]


def book_payload(book_round: BookRound, agents: frozenset[str] | None) -> dict[str, Any]:
    """The former frame's data: the round, when it was played and the books (of `agents` only, when given)."""
    entries = [e.wire() for e in book_round.entries if agents is None or e.agent_id in agents]
    return {"round": book_round.round, "as_of": format_timestamp(book_round.at), "agents": entries}


def _positions_by_symbol(entry: Entry) -> dict[str, Entry]:
    return {p["symbol"]: {k: v for k, v in p.items() if k != "symbol"} for p in entry.get("positions", [])}


def book_change(before: Entry, after: Entry) -> Entry:
    """What changed from one agent's entry to the next: changed fields, `positions` by symbol ({} when none)."""
    change = {key: value for key, value in after.items() if key != "positions" and before.get(key) != value}
    old, new = _positions_by_symbol(before), _positions_by_symbol(after)
    positions: dict[str, Entry | None] = {symbol: None for symbol in old if symbol not in new}
    for symbol, position in new.items():
        held = old.get(symbol)
        moved = position if held is None else {k: v for k, v in position.items() if held.get(k) != v}
        if moved:
            positions[symbol] = moved
    if positions:
        change["positions"] = positions
    return change


def _whole(entry: Entry) -> Entry:
    """A new agent's entry as a change: every field, `positions` by symbol."""
    fields = {k: v for k, v in entry.items() if k not in ("agent_id", "positions")}
    return {**fields, "positions": _positions_by_symbol(entry)}


def _marked(position: Entry, marks: dict[str, float]) -> Entry:
    """A position with its mark from the frame's `marks` (unless the change gave one of its own)."""
    mark = marks.get(position["symbol"])
    return position if mark is None else {**position, "mark_price": mark}


def merge_book_frame(
    books: dict[str, Entry], held_round: int | None, frame: Entry
) -> tuple[dict[str, Entry], int | None]:
    """A client's books (by agent id) after one book frame, and the round they are now of.

    A full frame replaces them; a change of a later round updates its agents field by field and
    position by position (`null` closes one); a change before any full frame, or of a round not
    newer than `held_round` (one the full frame already covered), changes nothing.
    """
    if frame.get("full"):
        return {entry["agent_id"]: entry for entry in frame["agents"]}, frame["round"]
    if held_round is None or frame["round"] <= held_round:  # nothing to change yet, or covered already
        return books, held_round
    marks: dict[str, float] = frame.get("marks", {})
    merged = {
        agent_id: {**entry, "positions": [_marked(p, marks) for p in entry.get("positions", [])]}
        for agent_id, entry in books.items()
    }
    for agent_id, change in frame["changes"].items():
        fields = {k: v for k, v in change.items() if k != "positions"}
        entry = {**merged.get(agent_id, {"agent_id": agent_id}), **fields}
        if "positions" in change:
            positions = _positions_by_symbol(entry)
            for symbol, moved in change["positions"].items():
                if moved is None:
                    positions.pop(symbol, None)
                else:
                    own = {} if "mark_price" in moved or symbol not in marks else {"mark_price": marks[symbol]}
                    positions[symbol] = {**positions.get(symbol, {}), **own, **moved}
            entry["positions"] = [{"symbol": s, **positions[s]} for s in sorted(positions)]
        merged[agent_id] = entry
    return merged, frame["round"]


class BookFrames:
    """Bus listener that sends one `event: book` frame per round (see the module docstring)."""

    def __init__(self, simulation_store: SimulationStore, fanout: Fanout, every_stream: bool = False) -> None:
        self.simulation_store = simulation_store
        self.fanout = fanout
        self.every_stream = every_stream  # the former frames: full books to every stream
        self.last_round: int | None = None  # None: not known yet, so only the latest round is sent
        self.latest: BookRound | None = None  # the last round sent (or found at start): a connect's full books
        self.sent = 0
        self._full_frames: dict[frozenset[str] | None, bytes] = {}  # of `latest`, per filter
        self._task: asyncio.Task[None] | None = None
        self._refreshing: set[asyncio.Task[bool]] = set()
        self._again = False
        self._behind = False  # rounds went unread while no stream asked for books
        self.stale = False  # a fill changed the latest books while no stream asked for books

    async def start(self) -> None:
        """Remember the latest round already played: earlier rounds are not news to anyone."""
        try:
            latest = await anyio.to_thread.run_sync(self.simulation_store.rounds_after, None, 1)
        except StoreUnavailable as error:
            logger.warning("book frames: cannot read the latest round yet (%s)", error.detail)
            return
        self.last_round = latest[-1].round if latest else 0
        self.latest = latest[-1] if latest else None

    async def stop(self) -> None:
        for task in tuple(self._refreshing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def full_frame(self, agents: frozenset[str] | None) -> bytes:
        """`event: book` with the whole books of the latest round (b"" before any round): a stream's first."""
        if self.latest is None:
            return b""
        frame = self._full_frames.get(agents)
        if frame is None:
            frame = self._full_frames[agents] = event_frame("book", {**book_payload(self.latest, agents), "full": True})
        return frame

    def wanted(self) -> bool:
        """Whether any stream on this hub gets book frames now."""
        return self.every_stream or bool(self.fanout.book_subscribers)

    def refresh(self, book_round: BookRound) -> None:
        """The books of a round after a fill: a later round goes the usual way; the round already
        sent is sent again whole (`full: true`) and becomes what a connect gets; an older one is news to nobody."""
        if self.last_round is None or book_round.round > self.last_round:
            self._send(book_round)
            return
        if book_round.round < self.last_round:
            return
        self.latest = book_round
        self._full_frames = {}
        self.sent += 1
        if self.every_stream:
            self.fanout.broadcast_books(lambda agents: event_frame("book", book_payload(book_round, agents)))
        else:
            self.fanout.broadcast_books(self.full_frame)

    def on_messages(self, messages: Sequence[Message]) -> None:
        """Bus listener: look for new rounds (one reader at a time; a batch meanwhile asks it to look again)."""
        if not self.wanted():
            self._behind = True  # nobody to send them to: `catch_up` reads them when someone asks
            return
        self._read()

    def catch_up(self) -> None:
        """A stream that asked for books went live: read the rounds skipped while none had asked."""
        if self._behind:
            self._behind = False
            self._read()
        if self.stale:
            self.stale = False
            task = asyncio.ensure_future(self.refresh_latest())
            self._refreshing.add(task)
            task.add_done_callback(self._refreshing.discard)

    async def refresh_latest(self) -> bool:
        """The latest round's books read again after a fill (`refresh`), now or when a stream asks for
        books after fills nobody saw; False when there is no round yet or the store cannot say."""
        try:
            latest = await anyio.to_thread.run_sync(self.simulation_store.rounds_after, None, 1)
        except StoreUnavailable as error:
            logger.warning("book frames: cannot read the books after a fill (%s)", error.detail)
            return False
        if not latest:
            return False
        self.refresh(latest[-1])
        return True

    def _read(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._send_new_rounds())
        else:
            self._again = True

    async def _send_new_rounds(self) -> None:
        while True:
            self._again = False
            try:
                rounds = await anyio.to_thread.run_sync(
                    self.simulation_store.rounds_after, self.last_round, MAX_ROUNDS_PER_READ
                )
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
        previous, self.latest = self.latest, book_round
        self._full_frames = {}
        self.sent += 1
        if self.every_stream:
            self.fanout.broadcast_books(lambda agents: event_frame("book", book_payload(book_round, agents)))
        elif previous is None:
            self.fanout.broadcast_books(self.full_frame)
        else:
            changes, marks = _changes(previous, book_round)
            as_of = format_timestamp(book_round.at)

            def change_frame(agents: frozenset[str] | None) -> bytes:
                picked = changes if agents is None else {a: c for a, c in changes.items() if a in agents}
                payload = {"round": book_round.round, "as_of": as_of, "full": False, "marks": marks, "changes": picked}
                return event_frame("book", payload)

            self.fanout.broadcast_books(change_frame)


def _changes(previous: BookRound, book_round: BookRound) -> tuple[dict[str, Entry], dict[str, float]]:
    """Each agent whose entry changed since `previous`, with what changed (in the round's rank order),
    and the marks that moved, taken out of the positions that carried them."""
    before = {report.agent_id: report.wire() for report in previous.entries}
    changes: dict[str, Entry] = {}
    marks: dict[str, float] = {}
    for entry in (report.wire() for report in book_round.entries):
        held = before.get(entry["agent_id"])
        change = _whole(entry) if held is None else book_change(held, entry)
        for symbol, moved in change.get("positions", {}).items():
            if (
                moved is not None
                and "mark_price" in moved
                and marks.setdefault(symbol, moved["mark_price"]) == moved["mark_price"]
            ):
                del moved["mark_price"]
        if change:
            changes[entry["agent_id"]] = change
    return changes, marks
