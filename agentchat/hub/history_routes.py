"""`GET /api/chat/history` (filtered, newest first, paged by id; CSV or JSON Lines export) and one message by id.

A route parses and checks every parameter before any store read, so a bad one is a 400 with the
JSON error body, even for an export (whose status line is sent before its first row). An export
streams page by page from a worker thread: a month of messages never sits in the hub's memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from agentchat.contract import HISTORY_PAGE_LIMIT
from agentchat.errors import BadRequest, NotFound
from agentchat.history import (
    EXPORT_FORMATS,
    HistoryFilter,
    csv_header,
    csv_line,
    find_message,
    jsonl_line,
    page,
    pages,
)
from agentchat.hub.params import parse_agents, parse_int, parse_since
from agentchat.hub.parts import Hub
from agentchat.hub.responses import json_response
from agentchat.message import Message

__all__ = ["history", "message", "parse_filter"]

DEFAULT_PAGE = 100
KNOWN_PARAMETERS = frozenset(
    {"agents", "kind", "symbol", "side", "q", "since", "until", "before_id", "limit", "format"}
)
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def parse_filter(query: QueryParams, known_agents: frozenset[str]) -> HistoryFilter:
    """The filter of a history request; anything malformed is a `BadRequest` saying which parameter."""
    unknown = sorted(set(query.keys()) - KNOWN_PARAMETERS)
    if unknown:
        named = ", ".join(repr(key)[:40] for key in unknown[:5])
        raise BadRequest(f"unknown parameter {named}; known: {', '.join(sorted(KNOWN_PARAMETERS))}")
    try:
        kinds = HistoryFilter.check_kinds(query.get("kind", ""))
        symbol = HistoryFilter.check_symbol(query["symbol"]) if query.get("symbol") else None
        side = HistoryFilter.check_side(query["side"]) if query.get("side") else None
        text = HistoryFilter.check_text(query["q"]) if query.get("q") else None
    except ValueError as error:
        raise BadRequest(str(error)) from None
    since, until = _time("since", query.get("since")), _time("until", query.get("until"))
    return HistoryFilter(
        agents=parse_agents(query.get("agents", ""), known_agents) or frozenset(),
        kinds=kinds,
        symbol=symbol,
        side=side,
        text=text,
        since=since,
        until=until,
    )


def _time(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_since(raw)
    except BadRequest:
        raise BadRequest(f"{name} must be an RFC 3339 time like 2026-11-23T10:15:00Z, got {raw[:60]!r}") from None


async def history(request: Request) -> Response:
    hub = _hub(request)
    query = request.query_params
    selection = parse_filter(query, hub.agent_ids)
    raw_before = query.get("before_id")
    before_id = parse_int("before_id", raw_before, minimum=1) if raw_before else None
    export = query.get("format", "json")
    if export not in EXPORT_FORMATS:
        raise BadRequest(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {export[:40]!r}")
    if export != "json":
        total = parse_int("limit", query["limit"], minimum=1) if query.get("limit") else None
        return await _export(hub, selection, before_id, total, export)
    limit = min(HISTORY_PAGE_LIMIT, parse_int("limit", query.get("limit") or str(DEFAULT_PAGE), minimum=1))
    found, next_before_id = await hub.in_thread(page, hub.store, selection, before_id, limit)
    return json_response(
        {"messages": [item.to_dict(with_details=True) for item in found], "next_before_id": next_before_id}
    )


async def _export(
    hub: Hub, selection: HistoryFilter, before_id: int | None, total: int | None, export: str
) -> Response:
    """The selection as CSV (a header line first) or JSON Lines, streamed page by page.

    The first page is read before the status line goes out, so a store that is down is a 503.
    """
    line = csv_line if export == "csv" else jsonl_line
    reader = pages(hub.store, selection, before_id, total)
    first: list[Message] | None = await hub.in_thread(next, reader, None)

    async def body() -> AsyncIterator[bytes]:
        if export == "csv":
            yield csv_header().encode()
        found = first
        while found is not None:
            yield "".join(line(item) for item in found).encode()
            found = await hub.in_thread(next, reader, None)

    headers = {"Content-Disposition": f'attachment; filename="agentchat-history.{export}"', "Cache-Control": "no-store"}
    return StreamingResponse(body(), media_type=MEDIA_TYPES[export], headers=headers)


async def message(request: Request) -> Response:
    hub = _hub(request)
    message_id = parse_int("message id", str(request.path_params["message_id"]), minimum=1)
    found = await hub.in_thread(find_message, hub.store, message_id)
    if found is None:
        raise NotFound(f"message {message_id} is not in history (never written, or older than its history days)")
    return json_response(found.to_dict(with_details=True))  # one message: always with its details
