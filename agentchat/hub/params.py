"""Query-parameter and header parsing shared by the endpoints: ids, agent lists, `since` times.

A number from a client is ASCII digits only (Python's `int` would also read `١٢` as 12 and
`1_0` as 10) and at most `MAX_STORE_ID`, the largest id the store's BIGINT column holds, so
no parameter can reach the database as a value it would overflow on.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta

from agentchat.errors import BadRequest, UnknownAgent

__all__ = ["MAX_STORE_ID", "known_agents", "parse_agents", "parse_int", "parse_since"]

MAX_STORE_ID = 2**63 - 1  # BIGINT (PostgreSQL) and SQLite's INTEGER
_DIGITS = re.compile(r"[0-9]{1,19}")  # 19 digits hold every value up to MAX_STORE_ID


def parse_agents(raw: str, known: Collection[str]) -> frozenset[str] | None:
    """`a,b` → {a, b}; empty → None (every agent); empty parts are skipped; anything else not an id is a 400."""
    wanted = [part for part in raw.split(",") if part]
    return known_agents(wanted, known) if wanted else None


def known_agents(wanted: Iterable[str], known: Collection[str]) -> frozenset[str]:
    """The set of `wanted`, each exactly an id in `known` (` a` is not `a`); any other string is a 400."""
    chosen = frozenset(wanted)
    unknown = sorted(chosen - set(known))
    if unknown:
        shown = ", ".join(repr(item)[:80] for item in unknown[:10])
        raise UnknownAgent(f"unknown agent id {shown}; known: {', '.join(sorted(known))}")
    return chosen


def parse_int(name: str, raw: str, minimum: int = 0, maximum: int = MAX_STORE_ID) -> int:
    """An integer parameter of ASCII digits within bounds, or a 400 that says which bounds."""
    text = raw  # not stripped: ` 5` (or `+5` in a URL) is not a number here
    if not _DIGITS.fullmatch(text):
        if text.isascii() and text.isdigit():
            raise BadRequest(f"{name} must be between {minimum} and {maximum}, got {text[:40]}")
        raise BadRequest(f"{name} must be an integer of digits 0-9, got {raw[:40]!r}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def parse_since(raw: str | None) -> datetime | None:
    """`since` as an RFC 3339 time (`2026-11-23T10:15:00Z`, an offset required) in UTC; absent is None; else a 400.

    A time whose conversion to UTC leaves the calendar (year 1 at +23:00) is the first or last moment there is.
    """
    if raw is None:
        return None
    try:
        if not _RFC3339.fullmatch(raw):
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"since must be an RFC 3339 time like 2026-11-23T10:15:00Z, got {raw!r}") from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        ahead_of_utc = (moment.utcoffset() or timedelta(0)) > timedelta(0)
        return (datetime.min if ahead_of_utc else datetime.max).replace(tzinfo=UTC)
