"""The hub's answers in words and in errors: its `{"error", "detail"}` body read into `AgentchatError`s.

Deliberate choices:

- **Answers are returned, not judged.** `HubClient` hands each caller the hub's response; the
  caller decides what a status means to it (the scheduler retries a 503, the dashboard shows it),
  then words it with `describe_response` and turns it into the matching `AgentchatError` with
  `refusal`, both read off the hub's `{"error", "detail"}` body.
- **A transport failure is worded, not shown as a chain.** httpx raises `TransportError` around
  the socket's own error; `describe_error` finds the most telling one ("connection refused").
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections import deque
from collections.abc import Iterator
from typing import Any

import httpx

from agentchat.errors import (
    AgentchatError,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestRefused,
    StoreUnavailable,
    Unauthorized,
    UnknownAgent,
)

__all__ = [
    "ERROR_BODY_BYTES",
    "TOKEN_HINT",
    "answer_phrase",
    "describe_error",
    "describe_response",
    "error_phrase",
    "json_body",
    "refusal",
    "successful_json",
]

TOKEN_HINT = "(set AGENTCHAT_GENERATE_TOKEN to the hub's token)"
ERROR_BODY_BYTES = 64 * 1024  # how much of a refused stream's body is read for its error

# The class for each `error` code the hub sends; a status stands in when the body has none.
_REFUSALS_BY_CODE: dict[str, type[AgentchatError]] = {
    cls.code: cls
    for cls in (BadRequest, UnknownAgent, Unauthorized, NotFound, PayloadTooLarge, RateLimited, StoreUnavailable)
}
_REFUSALS_BY_STATUS: dict[int, type[AgentchatError]] = {
    cls.status: cls for cls in (BadRequest, Unauthorized, NotFound, PayloadTooLarge, StoreUnavailable)
}


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON (a streamed answer: its first `ERROR_BODY_BYTES`)."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = _first_bytes(response)
    try:
        return json.loads(content)
    except ValueError:
        return None


def error_phrase(response: httpx.Response) -> str | None:
    """`code: detail` from the hub's JSON error body, or None when the answer is not one."""
    body = json_body(response)
    if not isinstance(body, dict) or "error" not in body:
        return None
    return f"{body['error']}: {body.get('detail', '')}".rstrip(": ")


def answer_phrase(response: httpx.Response) -> str:
    """What the hub said, after the status: its `code: detail`, else the reason; a hint on 401."""
    phrase = error_phrase(response) or response.reason_phrase or "no JSON body"
    return f"{phrase} {TOKEN_HINT}" if response.status_code == 401 else phrase


def describe_response(response: httpx.Response) -> str:
    """`HTTP 400 unknown_agent: ...` from the hub's JSON error body, or the status line."""
    return f"HTTP {response.status_code} {answer_phrase(response)}"


def refusal(response: httpx.Response, detail: str) -> AgentchatError:
    """The `AgentchatError` the hub's answer stands for (by its `error` code, else its status), saying `detail`."""
    body = json_body(response)
    code = body.get("error") if isinstance(body, dict) else None
    kind = _REFUSALS_BY_CODE.get(code) if isinstance(code, str) else None
    if kind is RateLimited or response.status_code == 429:
        retry_after = response.headers.get("retry-after", "")
        return RateLimited(detail, int(retry_after) if retry_after.isdigit() else None)
    if kind is None:
        status = response.status_code
        kind = _REFUSALS_BY_STATUS.get(status, RequestRefused if 400 <= status < 500 else AgentchatError)
    return kind(detail)


def successful_json(response: httpx.Response, who: str) -> Any:
    """The JSON of a successful answer; anything else raises the `refusal` it stands for ("`who` answered ...")."""
    body = json_body(response)
    if response.is_success and body is not None:
        return body
    raise refusal(response, f"{who} answered {describe_response(response)}")


def describe_error(error: BaseException) -> str:
    """One readable phrase for a failed request ("connection refused"), not httpx's nested chain.

    The most specific condition anywhere in the chain wins: a reset connection is also a
    `ReadError`, so "reset" must be looked for before "connection broken".
    """
    causes = list(_causes(error))
    for condition, phrase in _CONDITIONS:
        for cause in causes:
            if isinstance(cause, condition):
                return phrase
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror)
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


_CONDITIONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (socket.gaierror, "cannot resolve the host name"),
    (ConnectionResetError, "connection reset by the hub"),
    ((TimeoutError, httpx.TimeoutException), "timed out"),
    ((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, BrokenPipeError), "connection broken"),
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: `__cause__`, `__context__`, exceptions among its args."""
    seen: set[int] = set()
    queue: deque[BaseException] = deque([error])
    while queue:
        current = queue.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (current.__cause__, current.__context__, *current.args):
            if isinstance(inner, BaseException):
                queue.append(inner)


def _first_bytes(response: httpx.Response) -> bytes:
    body = bytearray()
    with contextlib.suppress(httpx.HTTPError, httpx.StreamError):
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= ERROR_BODY_BYTES:
                break
    return bytes(body)
