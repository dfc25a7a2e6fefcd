"""The hub's HTTP API as its clients speak it: paths, headers, the token, timeouts, the error body.

The feed (`client.py`), the probe, the scheduler and the dashboard reach the hub through
`HubClient`, on httpx; no other module writes a path, the bearer header or `Idempotency-Key`.
The path constants are the hub's too: its route table can import them.

Deliberate choices:

- **The token goes with generate only.** It guards that endpoint; reads never carry it.
- **Answers are returned, not judged.** Each caller decides what a status means to it (the
  scheduler retries a 503, the dashboard shows it), then words it with `describe_response` and
  turns it into the matching `AgentchatError` with `refusal`, both read off the hub's
  `{"error", "detail"}` body. A transport failure raises httpx's `TransportError`, which
  `describe_error` words ("connection refused").
- **A stream's read timeout can change mid-response.** A feed learns the hub's heartbeat period,
  and with it the liveness timeout, from the stream's first event; httpx fixes a request's read
  timeout once its body starts. So streams go through their own transport, whose connections
  are httpcore's, wrapped (`_AdjustableStream`) so that `EventStream.set_read_timeout` applies to
  the reads that follow. httpx 0.28 takes no network backend (encode/httpx#3749 adds one), so
  `_stream_transport` sets its pool itself: the one use of an httpx internal, checked when it is
  built. Stream connections are never kept alive, so a changed timeout never outlives its stream.
- **Another thread can end a stream at once.** `EventStream.shutdown` shuts the socket down,
  which wakes a blocked read; closing the response from another thread would race the reader.
- **`retry:` is read off the bytes.** sseclient-py does not dispatch an event without data, and
  the hub sends `retry: 3000` in a frame of its own, so the bytes handed to sseclient-py pass
  through `RetryWatcher`, which notes `retry:` lines on their way.
- **One TLS context per process.** httpx builds one per client from the CA bundle (~16 ms of
  CPU); a dashboard makes a client per page run and fifty feeds start fifty threads, so every
  client shares one, built once under a lock.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpcore
import httpx
import sseclient

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
    "AGENTS_PATH",
    "EQUITY_PATH",
    "EVENT_STREAM",
    "GENERATE_PATH",
    "HEALTH_PATH",
    "IDEMPOTENCY_KEY",
    "IDEMPOTENT_REPLAYED",
    "LAST_EVENT_ID",
    "MAX_PAGE",
    "MESSAGES_PATH",
    "METRICS_PATH",
    "PERFORMANCE_PATH",
    "STREAM_PATH",
    "TOKEN_HINT",
    "EventStream",
    "HubClient",
    "RetryWatcher",
    "answer_phrase",
    "describe_error",
    "describe_response",
    "equity_path",
    "error_phrase",
    "generate_timeout",
    "json_body",
    "refusal",
]

logger = logging.getLogger(__name__)

STREAM_PATH = "/api/chat/stream"
MESSAGES_PATH = "/api/chat/messages"
GENERATE_PATH = "/api/chat/generate"
AGENTS_PATH = "/api/agents"
PERFORMANCE_PATH = "/api/agents/performance"
EQUITY_PATH = "/api/agents/{agent_id}/equity"  # a route pattern: `equity_path` fills it in
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_PAGE = 1000  # the largest `limit` the hub takes on MESSAGES_PATH
LAST_EVENT_ID = "Last-Event-ID"
IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"  # "true" on an answer the hub gave before for this key
EVENT_STREAM = "text/event-stream"
TOKEN_HINT = "(set AGENTCHAT_GENERATE_TOKEN to the hub's token)"
DEFAULT_TIMEOUT_SECONDS = 10.0
ERROR_BODY_BYTES = 64 * 1024  # how much of a refused stream's body is read for its error
_RETRY_PREFIX = b"retry:"

# The class for each `error` code the hub sends; a status stands in when the body has none.
_REFUSALS_BY_CODE: dict[str, type[AgentchatError]] = {
    cls.code: cls
    for cls in (BadRequest, UnknownAgent, Unauthorized, NotFound, PayloadTooLarge, RateLimited, StoreUnavailable)
}
_REFUSALS_BY_STATUS: dict[int, type[AgentchatError]] = {
    cls.status: cls for cls in (BadRequest, Unauthorized, NotFound, PayloadTooLarge, StoreUnavailable)
}


def generate_timeout(llm_timeout_seconds: float) -> httpx.Timeout:
    """Timeouts for a client that generates: the hub may wait `llm_timeout_seconds` per LLM call first."""
    return httpx.Timeout(max(60.0, llm_timeout_seconds + 30.0), connect=5.0)


class HubClient:
    """One hub's HTTP API over httpx; each method is one request and returns httpx's response.

    `timeout` bounds each request (the connect, and each read); `token` goes with generate only.
    Use it from one thread at a time, but for `EventStream.shutdown`. Close it (or use `with`).
    """

    def __init__(
        self, hub_url: str, token: str | None = None, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._http = httpx.Client(base_url=self.hub_url, timeout=self.timeout, verify=_tls())
        self._streams: httpx.Client | None = None  # made on the first `open_stream`

    def generate(self, agent_ids: Sequence[str] | None = None, idempotency_key: str | None = None) -> httpx.Response:
        """`POST GENERATE_PATH`: a round for every agent, or for `agent_ids`; 201 with `messages`."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if idempotency_key is not None:
            headers[IDEMPOTENCY_KEY] = idempotency_key
        body = {"agents": list(agent_ids)} if agent_ids else None
        return self._http.post(GENERATE_PATH, json=body, headers=headers)

    def messages(
        self,
        since_id: int = 0,
        agent_ids: Sequence[str] | None = None,
        limit: int = MAX_PAGE,
        etag: str | None = None,
    ) -> httpx.Response:
        """`GET MESSAGES_PATH`: retained messages after `since_id`, in id order; 304 when `etag` still holds."""
        params = {"since_id": str(since_id), "limit": str(limit)}
        if agent_ids:
            params["agents"] = ",".join(agent_ids)
        headers = {"If-None-Match": etag} if etag else {}
        return self._http.get(MESSAGES_PATH, params=params, headers=headers)

    def agents(self) -> httpx.Response:
        """`GET AGENTS_PATH`: the roster."""
        return self._http.get(AGENTS_PATH)

    def health(self) -> httpx.Response:
        """`GET HEALTH_PATH`: 200, or 503 with a body that says what is down."""
        return self._http.get(HEALTH_PATH)

    def performance(self) -> httpx.Response:
        """`GET PERFORMANCE_PATH`: every agent's book, ranked by equity."""
        return self._http.get(PERFORMANCE_PATH)

    def equity(self, agent_id: str, since: str | None = None) -> httpx.Response:
        """`GET EQUITY_PATH`: the agent's equity after each kept round (after `since`, an RFC 3339 time)."""
        return self._http.get(equity_path(agent_id), params={"since": since} if since else None)

    def open_stream(
        self, last_event_id: int | None = None, agent_ids: Sequence[str] | None = None, details: bool = False
    ) -> EventStream:
        """`GET STREAM_PATH`, once its headers are in; a resume from `last_event_id` when given;
        with `details`, `?details=1` (message frames carry each message's `details`).

        The status is not judged here (see `EventStream.is_event_stream`); the caller closes it.
        """
        headers = {"Accept": EVENT_STREAM, "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers[LAST_EVENT_ID] = str(last_event_id)
        params = {"agents": ",".join(agent_ids)} if agent_ids else {}
        if details:
            params["details"] = "1"
        if self._streams is None:
            self._streams = httpx.Client(base_url=self.hub_url, timeout=self.timeout, transport=_stream_transport())
        request = self._streams.build_request("GET", STREAM_PATH, params=params, headers=headers)
        return EventStream(self._streams.send(request, stream=True))

    def close(self) -> None:
        self._http.close()
        if self._streams is not None:
            self._streams.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class EventStream:
    """One open answer to `GET STREAM_PATH`: its SSE events, the last `retry:` it sent, its read timeout.

    `shutdown()` may be called from any thread; everything else belongs to the thread that reads.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._watcher = RetryWatcher(response.iter_bytes())
        self._network: object = response.extensions.get("network_stream")

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return str(self.response.headers.get("content-type", ""))

    @property
    def is_event_stream(self) -> bool:
        return self.status_code == 200 and self.content_type.startswith(EVENT_STREAM)

    @property
    def retry_milliseconds(self) -> int | None:
        """The reconnection delay the hub asked for in its last `retry:` line, if any yet."""
        return self._watcher.retry_milliseconds

    def events(self) -> Iterator[Any]:
        """sseclient-py's `Event`s (`event`, `data`, `id`) as they arrive; ends when the stream does.

        Reading can raise httpx's `TransportError` (a timeout included), `StreamError`, or
        `ValueError` for bytes that are not UTF-8.
        """
        events: Iterator[Any] = sseclient.SSEClient(self._watcher).events()
        return events

    def set_read_timeout(self, seconds: float) -> None:
        """Bound each later read of this stream by `seconds` instead of the client's timeout."""
        if isinstance(self._network, _AdjustableStream):
            self._network.read_timeout = seconds
        else:  # e.g. through a proxy from the environment, whose transport is httpx's own
            logger.warning("the stream from %s keeps the client's read timeout", self.response.url)

    def shutdown(self) -> None:
        """Wake a thread blocked reading this stream: it sees the stream end. Safe from any thread."""
        sock = self._network.get_extra_info("socket") if isinstance(self._network, httpcore.NetworkStream) else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.response.close()


class RetryWatcher:
    """Hands a stream's bytes on unchanged and remembers the last `retry:` value among them.

    Only the first few bytes of each line are kept to recognise it, so a long `data:` line costs nothing.
    """

    _HEAD_BYTES = 32

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._head = b""
        self.retry_milliseconds: int | None = None

    def __iter__(self) -> RetryWatcher:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._chunks)
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            if len(self._head) < self._HEAD_BYTES:
                self._head += part[: self._HEAD_BYTES - len(self._head)]
            if index < len(parts) - 1:  # the line ended in this chunk
                self._line_ended(self._head.rstrip(b"\r"))
                self._head = b""
        return chunk

    def _line_ended(self, head: bytes) -> None:
        if head.startswith(_RETRY_PREFIX):
            value = head[len(_RETRY_PREFIX) :].strip()
            if value.isdigit():
                self.retry_milliseconds = int(value)


# -- the hub's answers in words and errors ------------------------------------------------------


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


def equity_path(agent_id: str) -> str:
    """EQUITY_PATH for one agent (its id percent-encoded, though roster ids never need it)."""
    return EQUITY_PATH.format(agent_id=quote(agent_id, safe=""))


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


# -- the transport of streams ---------------------------------------------------------------------


_tls_lock = threading.Lock()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _tls() -> ssl.SSLContext:
    with _tls_lock:  # feeds start in threads of their own: fifty at once must not build fifty
        return _tls_context()


def _stream_transport() -> httpx.HTTPTransport:
    """httpx's transport over a pool of `_AdjustableStream` connections, none kept alive."""
    transport = httpx.HTTPTransport(verify=_tls())
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):  # see the module docstring
        raise RuntimeError("this httpx keeps its connection pool elsewhere; agentchat's streams need updating")
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_tls(), max_keepalive_connections=0, network_backend=_AdjustableBackend()
    )
    return transport


class _AdjustableStream(httpcore.NetworkStream):
    """httpcore's own connection, with a read timeout its owner may change while a response is read."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.read_timeout: float | None = None  # None: the request's read timeout

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout if self.read_timeout is None else self.read_timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AdjustableBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, handing out `_AdjustableStream`s."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _AdjustableStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        return _AdjustableStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
