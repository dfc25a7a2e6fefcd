"""The hub's request/response endpoints: thin, each a few lines over the store and fan-out."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentchat.errors import AgentchatError, BadRequest, PayloadTooLarge, StoreUnavailable, Unauthorized
from agentchat.hub.metrics import CONTENT_TYPE
from agentchat.hub.params import parse_agents, parse_int
from agentchat.message import dumps

if TYPE_CHECKING:
    from agentchat.agents import Agent
    from agentchat.hub.app import Hub

MAX_BODY_BYTES = 16 * 1024
MAX_LIMIT = 1000
MAX_IDEMPOTENCY_KEY = 200


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json", headers=headers)


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
    key = _idempotency_key(request)
    if key is not None:
        earlier = await hub.in_thread(hub.store.find_round, key)
        if earlier is not None:
            return _round_response(earlier, replayed=True)
    write_round = await hub.market.prepare(agents, hub.recent_messages())  # runs in the insert's transaction
    async with hub.round_lock:  # publish in commit order
        messages, created = await hub.in_thread(hub.store.insert_round, write_round, key, hub.bus.before_commit)
        if created:
            await hub.bus.publish(messages)
    return _round_response(messages, replayed=not created)


def _round_response(messages: list[Any], replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return _json({"messages": [message.to_dict() for message in messages]}, 201, headers)


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
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
    chosen = parse_agents(",".join(wanted), hub.agent_ids) or frozenset()
    return [agent for agent in hub.roster if agent.id in chosen]


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters")
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
    return _json([agent.to_dict() for agent in _hub(request).roster])


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
    return _json(payload, 200 if database == "ok" else 503)


async def metrics(request: Request) -> Response:
    return Response(_hub(request).metrics.render(), media_type=CONTENT_TYPE)


async def agentchat_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AgentchatError)
    return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=exc.status)
