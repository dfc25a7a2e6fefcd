"""The books over HTTP: `GET /api/agents/performance` and `GET /api/agents/{id}/equity`.

Both read the store (`market/storage.py`), never a hub's memory, so every hub on one store answers
alike and a restart changes nothing. The performance body lists every agent of the roster as a
`BookReport` (`market/report.py`), ranked by equity; an agent that has not traded yet shows its
starting book. Beside SPEC section 5's fields it carries the round (`round`, `round_agents`: which
agents it asked, so a dashboard can tell a partial round), the marks (`prices`) and `start_equity`,
which `return_pct` is measured against.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentchat.errors import NotFound
from agentchat.hub.market_bodies import Equity, EquityPoint, Performance
from agentchat.hub.params import parse_since
from agentchat.hub.parts import Hub
from agentchat.market.books import START_CASH, Book
from agentchat.market.report import BookReport, rank
from agentchat.market.storage import StoredSimulation
from agentchat.message import dumps, format_timestamp, utc_now

__all__ = ["equity", "performance", "performance_document"]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _json(payload: Any) -> Response:
    return Response(dumps(payload), media_type="application/json", headers={"Cache-Control": "no-cache"})


def performance_document(stored: StoredSimulation | None, agent_ids: tuple[str, ...]) -> Performance:
    """The body of `GET /api/agents/performance` for the stored simulation (None before the first round)."""
    if stored is None:
        return Performance(
            as_of=format_timestamp(utc_now()),
            round=0,
            round_agents=[],
            start_equity=START_CASH,
            prices={},
            agents=rank(BookReport.of(agent_id, Book(), {}) for agent_id in agent_ids),
        )
    state = stored.state
    prices = state.prices()
    return Performance(
        as_of=format_timestamp(stored.updated_at),
        round=state.round,
        round_agents=list(stored.round_agents),
        start_equity=START_CASH,
        prices=prices,
        agents=rank(BookReport.of(a, state.book(a), prices) for a in agent_ids),
    )


async def performance(request: Request) -> Response:
    hub = _hub(request)
    stored = await hub.in_thread(hub.simulation_store.current)
    return _json(performance_document(stored, tuple(agent.id for agent in hub.roster)).model_dump())


async def equity(request: Request) -> Response:
    hub = _hub(request)
    agent_id = str(request.path_params["agent_id"])
    if agent_id not in hub.agent_ids:
        raise NotFound(f"unknown agent id {agent_id!r}; known: {', '.join(sorted(hub.agent_ids))}")
    since = parse_since(request.query_params.get("since"))
    points = await hub.in_thread(hub.simulation_store.equity, agent_id, since)
    body = Equity(
        agent_id=agent_id,
        start_equity=START_CASH,
        kept_rounds=hub.simulation_store.kept_rounds,
        points=[EquityPoint(round=point.round, at=format_timestamp(point.at), equity=point.equity) for point in points],
    )
    return _json(body.model_dump())
