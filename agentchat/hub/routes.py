"""The hub's request/response endpoints: thin, each a few lines over the store, the rounds and the fan-out.

A route checks and parses the request and shapes the response; what a round does (the write
path) is `hub/rounds.py`, and every JSON body and error is built by `hub/responses.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

from starlette.requests import Request
from starlette.responses import Response

from agentchat.agents import Agent
from agentchat.contract import IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, JSON, MESSAGES_PAGE_DEFAULT, MESSAGES_PAGE_LIMIT
from agentchat.errors import (
    AgentchatError,
    BadRequest,
    PayloadTooLarge,
    RequestTimeout,
    StoreUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from agentchat.hub.bodies import Health
from agentchat.hub.metrics import CONTENT_TYPE
from agentchat.hub.params import known_agents, parse_agents, parse_int
from agentchat.hub.parts import Hub
from agentchat.hub.responses import json_response
from agentchat.hub.rounds import Round
from agentchat.message import Message, dumps

__all__ = [
    "BODY_READ_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_IDEMPOTENCY_KEY",
    "agents",
    "generate",
    "healthz",
    "idempotency_key",
    "json_depth",
    "messages",
    "metrics",
    "read_body",
]

MAX_BODY_BYTES = 16 * 1024
MAX_IDEMPOTENCY_KEY = 200
BODY_READ_SECONDS = 10.0  # a body declared and not sent is not allowed to hold a connection open
MAX_JSON_DEPTH = 4  # the body is {"agents": [...]}; anything deeper is refused before parsing


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def generate(request: Request) -> Response:
    hub = _hub(request)
    status = 500
    try:
        response = await _generate(hub, request)
        status = response.status_code
        return response
    except AgentchatError as error:
        status = error.status
        raise
    finally:
        hub.metrics.generate_requests.labels(str(status)).inc()


async def _generate(hub: Hub, request: Request) -> Response:
    _authorize(hub, request)
    agents = _agents_from_body(hub, await _read_body(request), request.headers.get("content-type"))
    made = await hub.rounds.make(agents, _idempotency_key(request))
    return _round_response(made)


def _round_response(made: Round) -> Response:
    headers = {IDEMPOTENT_REPLAYED: "true"} if made.replayed else None
    return json_response({"messages": [message.to_dict() for message in made.messages]}, 201, headers)


def _authorize(hub: Hub, request: Request) -> None:
    token = hub.settings.token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Headers arrive as latin-1 text: its bytes are what the client sent, compared with the token's UTF-8.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("latin-1"), token.encode()):
        raise Unauthorized("POST /api/chat/generate needs 'Authorization: Bearer <AGENTCHAT_GENERATE_TOKEN>'")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {MAX_BODY_BYTES}")
    body = b""
    try:
        async with asyncio.timeout(BODY_READ_SECONDS):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise PayloadTooLarge(f"body is over the limit of {MAX_BODY_BYTES} bytes")
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {BODY_READ_SECONDS:g} s") from None
    return body


def _json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _agents_from_body(hub: Hub, body: bytes, content_type: str | None) -> list[Agent]:
    if not body.strip():
        return list(hub.simulated)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != JSON:
        raise UnsupportedMediaType(f"a body must be Content-Type: application/json, got {content_type or 'none'}")
    if _json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: also a 5000-digit number
        raise BadRequest(f"body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict):
        raise BadRequest('body must be a JSON object like {"agents": ["claude_arbitrage"]}')
    extra = sorted(set(document) - {"agents"})
    if extra:
        raise BadRequest(f"unknown field {', '.join(extra)}; the only field is 'agents'")
    wanted = document.get("agents")
    if wanted is None:
        return list(hub.simulated)
    if not isinstance(wanted, list) or not wanted or not all(isinstance(item, str) and item for item in wanted):
        raise BadRequest("'agents' must be a non-empty list of agent ids")
    chosen = known_agents(wanted, hub.agent_ids)  # each item whole: "a,b" or " a" is no agent id
    external = sorted(agent.id for agent in hub.roster if agent.id in chosen and agent.external)
    if external:
        raise BadRequest(f"{', '.join(external)}: external agents publish their own messages, not rounds")
    return [agent for agent in hub.simulated if agent.id in chosen]


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not (key.isascii() and key.isprintable()):
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return key


async def messages(request: Request) -> Response:
    hub = _hub(request)
    query = request.query_params
    since_id = parse_int("since_id", query.get("since_id", "0"))
    limit = parse_int("limit", query.get("limit", str(MESSAGES_PAGE_DEFAULT)), minimum=1, maximum=MESSAGES_PAGE_LIMIT)
    agents = parse_agents(query.get("agents", ""), hub.agent_ids)
    found, gap = await hub.in_thread(_messages_since, hub, since_id, sorted(agents) if agents else None, limit)
    # `bodies.MessagesPage`, encoded here without the model: a poll's page holds up to a thousand messages.
    body = dumps(
        {
            "messages": [message.to_dict() for message in found],
            "last_id": found[-1].id if found else (0 if gap else since_id),
            "retention_seconds": hub.settings.retention_seconds,
            "gap": gap,
            "store_id": hub.store_id,
        }
    ).encode()
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _etag_matches(etag, request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)


def _messages_since(hub: Hub, since_id: int, agents: list[str] | None, limit: int) -> tuple[list[Message], bool]:
    """Messages after `since_id`; an id the store never handed out (a reset store) is a gap: from the start."""
    found = hub.store.since(since_id, agents, limit)
    if found or since_id == 0 or since_id <= hub.store.last_assigned_id():
        return found, False
    return hub.store.since(0, agents, limit), True


def _etag_matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110 weak comparison: `W/"x"` matches `"x"`, and `*` matches any current representation."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in [tag.removeprefix("W/") for tag in tags]


async def agents(request: Request) -> Response:
    return json_response([agent.to_dict() for agent in _hub(request).roster])


async def healthz(request: Request) -> Response:
    hub = _hub(request)
    try:
        found = await hub.in_thread(hub.store.check_writable)
        database = "ok" if found == hub.store_id else f"database unavailable: a different store ({found})"
    except StoreUnavailable as error:
        database = hub.public_detail(error.detail)  # the file's name, never its path on the server
    healthy = database == "ok" and hub.bus.status == "ok"
    health = Health(
        status="ok" if healthy else "degraded",
        database=database,
        bus=hub.bus.status,
        generator=hub.generator_status(),
        clients=len(hub.fanout),
        uptime_seconds=round(time.monotonic() - hub.started_monotonic, 3),
    )
    return json_response(health.model_dump(), 200 if database == "ok" else 503)


async def metrics(request: Request) -> Response:
    return Response(_hub(request).metrics.render(), media_type=CONTENT_TYPE)


# The publish route (`publish_routes.py`) reads and checks its body with the same bounds as generate.
read_body = _read_body
json_depth = _json_depth
idempotency_key = _idempotency_key
