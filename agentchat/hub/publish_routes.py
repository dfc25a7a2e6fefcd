"""External agents over HTTP: `POST /api/chat/messages` (publish) and `GET /api/market` (what to decide from).

The route checks who is asking before it reads anything: the bearer token's SHA-256 is compared
in constant time with every external agent's `publish_token_sha256` (so timing tells nothing about
how close a guess was), then the body is read with the generate route's bounds (16 KiB, a body
that does not arrive in time) and checked (`PublishRequest.parse`). What a publish does is
`hub/publish.py`. Cross-site rules are the generate route's: the request guard refuses a foreign
browser `Origin`, and a body must be `application/json` (a form post cannot be one).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from agentchat.agents import Agent
from agentchat.contract import IDEMPOTENT_REPLAYED, JSON
from agentchat.errors import AgentchatError, BadRequest, Forbidden, Unauthorized, UnknownAgent, UnsupportedMediaType
from agentchat.hub.market_bodies import Market, Quote
from agentchat.hub.parts import Hub
from agentchat.hub.publish import PublishRequest
from agentchat.hub.responses import json_response
from agentchat.hub.routes import idempotency_key, json_depth, messages, read_body
from agentchat.market.state import SimulationState
from agentchat.market.storage import StoredSimulation
from agentchat.message import Draft, format_timestamp, utc_now

__all__ = [
    "MAX_PUBLISH_DEPTH",
    "authenticate",
    "market",
    "market_document",
    "messages_resource",
    "publish",
]

MAX_PUBLISH_DEPTH = 12  # the body, its order, and `details` nested a few levels; deeper is refused unparsed


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def authenticate(hub: Hub, request: Request) -> Agent:
    """The external agent whose token the request carries, or `Unauthorized`."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        digest = hashlib.sha256(given.strip().encode("latin-1")).hexdigest().encode()
        found = None
        for agent in hub.roster:  # every external agent is compared, so the time does not depend on which
            expected = (agent.publish_token_sha256 or "").encode()
            if expected and hmac.compare_digest(digest, expected):
                found = agent
        if found is not None:
            return found
    raise Unauthorized("POST /api/chat/messages needs 'Authorization: Bearer <the external agent's token>'")


async def messages_resource(request: Request) -> Response:
    """`/api/chat/messages`: GET reads the live window (`routes.messages`), POST publishes.

    One route for both methods, so a 405 on this path lists both in `Allow`.
    """
    if request.method == "POST":
        return await publish(request)
    return await messages(request)


async def publish(request: Request) -> Response:
    hub = _hub(request)
    agent = authenticate(hub, request)
    body = await read_body(request)
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != JSON:
        raise UnsupportedMediaType(
            f"a body must be Content-Type: application/json, got {request.headers.get('content-type') or 'none'}"
        )
    if json_depth(body) > MAX_PUBLISH_DEPTH:
        raise BadRequest(f"body nests deeper than {MAX_PUBLISH_DEPTH} levels")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {str(exc)[:200]}") from None
    parsed = PublishRequest.parse(document)
    if parsed.agent_id != agent.id:
        if parsed.agent_id not in hub.agent_ids:
            raise UnknownAgent(f"unknown agent id {parsed.agent_id[:64]!r}")
        raise Forbidden(f"this token publishes as {agent.id!r} only, not as {parsed.agent_id!r}")
    message, created = await hub.publisher.publish(agent, parsed, idempotency_key(request))
    headers = None if created else {IDEMPOTENT_REPLAYED: "true"}
    return json_response({"message": message.to_dict(with_details=True)}, 201, headers)


def market_document(stored: StoredSimulation) -> Market:
    """The body of `GET /api/market`: every symbol's price now and its move over the latest bar, in percent."""
    snapshot = stored.state.snapshot()
    return Market(
        as_of=format_timestamp(stored.updated_at),
        bar=snapshot.bar,
        round=stored.state.round,
        symbols=[
            Quote(symbol=quote.symbol, price=quote.price, change_pct=round(quote.move_pct, 6))
            for quote in snapshot.quotes.values()
        ],
    )


def _start_market(hub: Hub) -> StoredSimulation | None:
    """Before the first round: write the market every hub will then share (under the rounds' lock), and read it."""

    def write(connection: Connection) -> list[Draft]:
        if hub.simulation_store.load_for_update(connection) is None:
            hub.simulation_store.save_fill(connection, SimulationState.new(), None, (), utc_now())
        return []

    hub.store.insert_round(write)
    return hub.simulation_store.current()


async def market(request: Request) -> Response:
    hub = _hub(request)
    stored = await hub.in_thread(hub.simulation_store.current)
    if stored is None:
        stored = await hub.in_thread(_start_market, hub)
    if stored is None:  # pragma: no cover - the market was just written
        raise AgentchatError("the market could not be started")
    return json_response(market_document(stored).model_dump(), headers={"Cache-Control": "no-cache"})
