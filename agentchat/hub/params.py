"""Query-parameter parsing shared by the stream and the messages endpoint."""

from __future__ import annotations

from collections.abc import Collection

from agentchat.errors import BadRequest, UnknownAgent

__all__ = ["parse_agents", "parse_int"]


def parse_agents(raw: str, known: Collection[str]) -> frozenset[str] | None:
    """`a,b` → {a, b}; empty → None (every agent); an unknown id is a 400."""
    wanted = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if not wanted:
        return None
    unknown = sorted(wanted - set(known))
    if unknown:
        raise UnknownAgent(f"unknown agent id {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return wanted


def parse_int(name: str, raw: str, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer parameter within bounds, or a 400 that says which bounds."""
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"{minimum} or more"
        raise BadRequest(f"{name} must be {bound}, got {value}")
    return value
