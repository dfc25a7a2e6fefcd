"""The hub's JSON responses: one encoder for every body, one builder for every error.

Every endpoint answers JSON in the compact form `message.dumps` writes, and every refusal,
whether one of ours (`AgentchatError`), Starlette's routing (404, 405) or an unexpected
crash (500), carries the same `{"error", "detail"}` body (`errors.error_body`). The raw
SSE endpoint sits outside Starlette's exception handlers and answers through the same
functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from agentchat.errors import AgentchatError, error_body
from agentchat.message import dumps

__all__ = [
    "EXCEPTION_HANDLERS",
    "agentchat_error_response",
    "error_response",
    "json_response",
    "on_agentchat_error",
    "on_http_error",
    "on_internal_error",
]

logger = logging.getLogger("agentchat.hub")

_HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json", headers=headers)


def error_response(code: str, detail: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(error_body(code, detail), status, dict(headers) if headers else None)


def agentchat_error_response(error: AgentchatError) -> Response:
    return error_response(error.code, error.detail, error.status)


# -- Starlette's exception handlers -----------------------------------------------------


async def on_agentchat_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AgentchatError)
    return agentchat_error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    detail = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(code, detail, exc.status_code, exc.headers)  # a 405 carries Allow


async def on_internal_error(request: Request, _exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response("internal_error", "the hub hit an unexpected error; see its log", 500)


EXCEPTION_HANDLERS = {
    AgentchatError: on_agentchat_error,
    HTTPException: on_http_error,
    Exception: on_internal_error,
}
