"""The books over HTTP: `GET /api/agents/performance` and `GET /api/agents/{id}/equity`.

Both read the store (`ledger`), never a hub's memory, so every hub on one store answers alike and a
restart changes nothing. The performance body lists every agent of the roster, ranked by equity; an
agent that has not traded yet shows its starting book. Beside SPEC section 5's fields it carries the
round (`round`, `round_agents`: which agents it asked, so a dashboard can tell a partial round), the
marks (`prices`) and `start_equity`, which `return_pct` is measured against.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentchat.books import START_CASH, Book, performance_entry, rank
from agentchat.errors import BadRequest, NotFound
from agentchat.hub.parts import Hub
from agentchat.ledger import StoredSimulation
from agentchat.message import dumps, format_timestamp, utc_now

__all__ = ["equity", "parse_since", "performance", "performance_document"]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _json(payload: Any) -> Response:
    return Response(dumps(payload), media_type="application/json", headers={"Cache-Control": "no-cache"})


def performance_document(stored: StoredSimulation | None, agent_ids: tuple[str, ...]) -> dict[str, Any]:
    """The body of `GET /api/agents/performance` for the stored simulation (None before the first round)."""
    if stored is None:
        entries = [performance_entry(agent_id, Book(), {}) for agent_id in agent_ids]
        return {
            "as_of": format_timestamp(utc_now()),
            "round": 0,
            "round_agents": [],
            "start_equity": START_CASH,
            "prices": {},
            "agents": rank(entries),
        }
    state = stored.state
    prices = state.prices()
    return {
        "as_of": format_timestamp(stored.updated_at),
        "round": state.round,
        "round_agents": list(stored.round_agents),
        "start_equity": START_CASH,
        "prices": prices,
        "agents": rank(performance_entry(agent_id, state.book(agent_id), prices) for agent_id in agent_ids),
    }


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


async def performance(request: Request) -> Response:
    hub = _hub(request)
    stored = await hub.in_thread(hub.ledger.current)
    return _json(performance_document(stored, tuple(agent.id for agent in hub.roster)))


async def equity(request: Request) -> Response:
    hub = _hub(request)
    agent_id = str(request.path_params["agent_id"])
    if agent_id not in hub.agent_ids:
        raise NotFound(f"unknown agent id {agent_id!r}; known: {', '.join(sorted(hub.agent_ids))}")
    since = parse_since(request.query_params.get("since"))
    points = await hub.in_thread(hub.ledger.equity, agent_id, since)
    return _json(
        {
            "agent_id": agent_id,
            "start_equity": START_CASH,
            "kept_rounds": hub.ledger.kept_rounds,
            "points": [
                {"round": point.round, "at": format_timestamp(point.at), "equity": point.equity} for point in points
            ],
        }
    )
