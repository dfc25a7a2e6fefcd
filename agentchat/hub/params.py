"""Query-parameter and header parsing shared by the stream and the messages endpoint.

A number from a client is ASCII digits only (Python's `int` would also read `١٢` as 12 and
`1_0` as 10) and at most `MAX_STORE_ID`, the largest id the store's BIGINT column holds, so
no parameter can reach the database as a value it would overflow on.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from agentchat.errors import BadRequest, UnknownAgent

__all__ = ["MAX_STORE_ID", "known_agents", "parse_agents", "parse_int"]

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
