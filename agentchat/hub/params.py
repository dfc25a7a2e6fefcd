"""Query-parameter parsing shared by the stream and the messages endpoint.

An integer parameter is ASCII digits only, at most `MAX_STORE_INT`: Python's `int()` would also take
`+5`, ` 5`, `1_000` and other scripts' digits, and a value above the store's BIGINT range makes the
database driver fail instead of answering. Both are a 400 here. Agent ids are taken exactly as
written: empty parts of `a,,b` are skipped, but ` a` is not `a`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from agentchat.errors import BadRequest, UnknownAgent

MAX_STORE_INT = 2**63 - 1  # the largest signed 64-bit integer: PostgreSQL's BIGINT, SQLite's INTEGER
_DIGITS = re.compile(r"[0-9]+")

__all__ = ["MAX_STORE_INT", "known_agents", "parse_agents", "parse_int"]


def parse_agents(raw: str, known: Collection[str]) -> frozenset[str] | None:
    """`a,b` → {a, b}; empty → None (every agent); empty parts are skipped; anything else not an id is a 400."""
    wanted = [part for part in raw.split(",") if part]
    return known_agents(wanted, known) if wanted else None


def known_agents(wanted: Iterable[str], known: Collection[str]) -> frozenset[str]:
    """The set of `wanted`, each exactly an id in `known`; any other string is a 400."""
    chosen = frozenset(wanted)
    unknown = sorted(chosen - set(known))
    if unknown:
        raise UnknownAgent(f"unknown agent id {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    return chosen


def parse_int(name: str, raw: str, minimum: int = 0, maximum: int = MAX_STORE_INT) -> int:
    """An integer parameter within bounds, or a 400 that says which bounds."""
    bounds = f"a whole number from {minimum} to {maximum}"
    if not _DIGITS.fullmatch(raw):
        raise BadRequest(f"{name} must be {bounds}, got {raw[:40]!r}")
    significant = raw.lstrip("0") or "0"
    value = int(significant) if len(significant) <= len(str(maximum)) else None  # never a 4,000-digit parse
    if value is None or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be {bounds}, got {raw[:40]!r}")
    return value
