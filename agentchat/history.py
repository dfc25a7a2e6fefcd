"""History: every message the store holds (`AGENTCHAT_HISTORY_DAYS`), filtered, newest first, paged by id.

The live window (`store.py`) is what a page shows live; history is what an operator looks up:
one agent's thread, every trade in BTC, a word in the text, last Tuesday's messages. Pages are
cut by id (`before_id`), not by offset, so a page stays exact while new messages arrive, and each
is one index range read however deep into a month of messages it is. An export reads the same
selection page by page (`pages`), so it is streamed, never held whole in memory.

This module is shared by the hub (which answers `GET /api/chat/history`) and by the dashboard
(which asks it): the filter, its query parameters and the CSV columns are defined once here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agentchat.message import MESSAGE_KINDS, Message, dumps, format_timestamp
from agentchat.store import Store, messages_table

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "EXPORT_PAGE",
    "MAX_QUERY_CHARS",
    "SIDES",
    "HistoryFilter",
    "csv_header",
    "csv_line",
    "find_message",
    "jsonl_line",
    "page",
    "pages",
]

EXPORT_PAGE = 1000  # rows per store read while an export streams
EXPORT_FORMATS = ("json", "csv", "jsonl")
SIDES = ("buy", "sell")
MAX_QUERY_CHARS = 200
SYMBOL = re.compile(r"[A-Za-z0-9._/-]{0,32}")
CSV_COLUMNS = (
    "id",
    "created_at",
    "agent_id",
    "agent_name",
    "kind",
    "symbol",
    "side",
    "quantity",
    "price",
    "confidence",
    "reply_to",
    "content",
    "meta",
    "details",  # JSON text, as `meta`; empty for a message without details
)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What an operator selects; every field empty selects every message history holds."""

    agents: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    symbol: str | None = None
    side: str | None = None
    text: str | None = None  # case-insensitive substring of the content
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The filter as SQL conditions, the same on SQLite and PostgreSQL."""
        table = messages_table
        conditions: list[sa.ColumnElement[bool]] = []
        if self.agents:
            conditions.append(table.c.agent_id.in_(sorted(self.agents)))
        if self.kinds:
            conditions.append(table.c.kind.in_(sorted(self.kinds)))
        if self.symbol:
            conditions.append(table.c.meta["symbol"].as_string() == self.symbol.upper())
        if self.side:
            conditions.append(table.c.meta["side"].as_string() == self.side)
        if self.text:
            conditions.append(table.c.content.icontains(self.text, autoescape=True))
        if self.since is not None:
            conditions.append(table.c.created_at >= self.since)
        if self.until is not None:
            conditions.append(table.c.created_at < self.until)
        return conditions

    def params(self) -> dict[str, str]:
        """The filter as the query parameters of `GET /api/chat/history` (what the dashboard sends)."""
        found: dict[str, str] = {}
        if self.agents:
            found["agents"] = ",".join(sorted(self.agents))
        if self.kinds:
            found["kind"] = ",".join(sorted(self.kinds))
        if self.symbol:
            found["symbol"] = self.symbol
        if self.side:
            found["side"] = self.side
        if self.text:
            found["q"] = self.text
        if self.since is not None:
            found["since"] = format_timestamp(self.since)
        if self.until is not None:
            found["until"] = format_timestamp(self.until)
        return found

    @staticmethod
    def check_kinds(raw: str) -> frozenset[str]:
        """`analysis,trade` → the kinds; any other word is a ValueError naming the kinds there are."""
        kinds = frozenset(part for part in raw.split(",") if part)
        unknown = sorted(kinds - set(MESSAGE_KINDS))
        if unknown:
            raise ValueError(
                f"unknown kind {', '.join(repr(k)[:40] for k in unknown[:5])}; kinds: {', '.join(MESSAGE_KINDS)}"
            )
        return kinds

    @staticmethod
    def check_symbol(raw: str) -> str:
        if not SYMBOL.fullmatch(raw):
            raise ValueError(f"symbol must be at most 32 letters, digits or . _ / -, got {raw[:40]!r}")
        return raw.upper()

    @staticmethod
    def check_side(raw: str) -> str:
        if raw not in SIDES:
            raise ValueError(f"side must be buy or sell, got {raw[:40]!r}")
        return raw

    @staticmethod
    def check_text(raw: str) -> str:
        if len(raw) > MAX_QUERY_CHARS:
            raise ValueError(f"q is at most {MAX_QUERY_CHARS} characters, got {len(raw)}")
        if "\x00" in raw:
            raise ValueError("q must not hold a NUL character")
        return raw


def _select(selection: HistoryFilter, before_id: int | None, limit: int) -> sa.Select[Any]:
    query = sa.select(messages_table).where(*selection.where())
    if before_id is not None:
        query = query.where(messages_table.c.id < before_id)
    return query.order_by(messages_table.c.id.desc()).limit(limit)


def page(store: Store, selection: HistoryFilter, before_id: int | None, limit: int) -> tuple[list[Message], int | None]:
    """Up to `limit` messages newest first below `before_id`, and the `before_id` of the next page (None: last)."""
    found = store.read_messages(_select(selection, before_id, limit + 1))
    if len(found) > limit:
        return found[:limit], found[limit - 1].id
    return found, None


def pages(
    store: Store, selection: HistoryFilter, before_id: int | None, total: int | None = None
) -> Iterator[list[Message]]:
    """The selection page by page, newest first (at most `total` messages): what an export streams."""
    left = total
    while left is None or left > 0:
        size = EXPORT_PAGE if left is None else min(EXPORT_PAGE, left)
        found = store.read_messages(_select(selection, before_id, size))
        if found:
            yield found
        if len(found) < size:
            return
        before_id = found[-1].id
        if left is not None:
            left -= len(found)


def find_message(store: Store, message_id: int) -> Message | None:
    """One message while history holds it."""
    found = store.read_messages(sa.select(messages_table).where(messages_table.c.id == message_id))
    return found[0] if found else None


def csv_header() -> str:
    return _csv_row(CSV_COLUMNS)


def csv_line(message: Message) -> str:
    meta = message.meta
    return _csv_row(
        [
            str(message.id),
            format_timestamp(message.created_at),
            message.agent_id,
            message.agent_name,
            message.kind,
            _text(meta.get("symbol")),
            _text(meta.get("side")),
            _text(meta.get("quantity")),
            _text(meta.get("price")),
            _text(meta.get("confidence")),
            _text(meta.get("reply_to")),
            message.content,
            dumps(meta),
            "" if message.details is None else dumps(message.details),
        ]
    )


def jsonl_line(message: Message) -> str:
    """One message JSON with its `details` (history always carries them, SPEC section 4)."""
    return message.to_json(with_details=True) + "\n"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _csv_row(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
