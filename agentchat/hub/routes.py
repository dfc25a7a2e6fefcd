"""The hub's request/response endpoints: thin, each a few lines over the store, the rounds and the fan-out.

A route checks and parses the request and shapes the response; what a round does (the write
path) is `hub/rounds.py`, and every JSON body and error is built by `hub/responses.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from agentchat.errors import AgentchatError, BadRequest, PayloadTooLarge, StoreUnavailable, Unauthorized
from agentchat.hub.metrics import CONTENT_TYPE
from agentchat.hub.params import known_agents, parse_agents, parse_int
from agentchat.hub.responses import json_response
from agentchat.hub.rounds import Round
from agentchat.hub_client import IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED
from agentchat.message import dumps

if TYPE_CHECKING:
    from agentchat.agents import Agent
    from agentchat.hub.app import Hub

__all__ = ["MAX_BODY_BYTES", "MAX_IDEMPOTENCY_KEY", "MAX_LIMIT", "agents", "generate", "healthz", "messages", "metrics"]

MAX_BODY_BYTES = 16 * 1024
MAX_LIMIT = 1000
MAX_IDEMPOTENCY_KEY = 200


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
    agents = _agents_from_body(hub, await _read_body(request))
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
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("POST /api/chat/generate needs 'Authorization: Bearer <AGENTCHAT_GENERATE_TOKEN>'")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {MAX_BODY_BYTES}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"body is over the limit of {MAX_BODY_BYTES} bytes")
    return body


def _agents_from_body(hub: Hub, body: bytes) -> list[Agent]:
    if not body.strip():
        return list(hub.roster)
    try:
        document = json.loads(body)
    except RecursionError:  # 16 KiB of `[` nests past the parser's recursion limit
        raise BadRequest("body nests too deeply to be the object described") from None
    except ValueError as exc:  # also a non-UTF-8 body and an integer of over 4,300 digits
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest('body must be a JSON object like {"agents": ["claude_arbitrage"]}')
    extra = sorted(set(document) - {"agents"})
    if extra:
        raise BadRequest(f"unknown field {', '.join(extra)}; the only field is 'agents'")
    wanted = document.get("agents")
    if wanted is None:
        return list(hub.roster)
    if not isinstance(wanted, list) or not wanted or not all(isinstance(item, str) for item in wanted):
        raise BadRequest("'agents' must be a non-empty list of agent ids")
    chosen = known_agents(wanted, hub.agent_ids)  # each item whole: "a,b" or "" is no agent id
    return [agent for agent in hub.roster if agent.id in chosen]


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
    limit = parse_int("limit", query.get("limit", "100"), minimum=1, maximum=MAX_LIMIT)
    agents = parse_agents(query.get("agents", ""), hub.agent_ids)
    found = await hub.in_thread(hub.store.since, since_id, sorted(agents) if agents else None, limit)
    body = dumps(
        {
            "messages": [message.to_dict() for message in found],
            "last_id": found[-1].id if found else since_id,
            "retention_seconds": hub.settings.retention_seconds,
        }
    ).encode()
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def agents(request: Request) -> Response:
    return json_response([agent.to_dict() for agent in _hub(request).roster])


async def healthz(request: Request) -> Response:
    hub = _hub(request)
    try:
        await hub.in_thread(hub.store.ping)
        database = "ok"
    except StoreUnavailable as error:
        database = error.detail
    healthy = database == "ok" and hub.bus.status == "ok"
    payload = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "bus": hub.bus.status,
        "clients": len(hub.fanout),
        "uptime_seconds": round(time.monotonic() - hub.started_monotonic, 3),
    }
    return json_response(payload, 200 if database == "ok" else 503)


async def metrics(request: Request) -> Response:
    return Response(_hub(request).metrics.render(), media_type=CONTENT_TYPE)
