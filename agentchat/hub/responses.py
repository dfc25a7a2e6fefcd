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

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from agentchat.contract import JSON
from agentchat.errors import AgentchatError, error_body
from agentchat.message import dumps

__all__ = [
    "EXCEPTION_HANDLERS",
    "JsonCorsMiddleware",
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
    """`payload` as JSON bytes. A lone surrogate (a client's `"\\ud800"` echoed in an error) has no UTF-8
    form: it is written as its JSON escape, which is what the client sent, instead of failing."""
    body = dumps(payload).encode("utf-8", "backslashreplace")
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def error_response(code: str, detail: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(error_body(code, detail), status, dict(headers) if headers else None)


def agentchat_error_response(error: AgentchatError) -> Response:
    return error_response(error.code, error.detail, error.status, error.headers())  # a 429 carries Retry-After


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


class JsonCorsMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the hub's JSON error body, not plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = f"CORS preflight refused: {bytes(response.body).decode(errors='replace')}"
        headers = {name: value for name, value in response.headers.items() if name.startswith("access-control-")}
        return error_response("cors_refused", detail, response.status_code, headers)
