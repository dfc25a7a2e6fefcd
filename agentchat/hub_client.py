"""The hub's HTTP API as its Python clients speak it: one method per request, on httpx.

The feed (`client.py`), the probe, the scheduler and the dashboard reach the hub through
`HubClient`; the paths and header names it sends are the contract's (`contract.py`), what it does
with an answer is each caller's (`http_errors.py` words it and turns it into an `AgentchatError`),
and a stream is read by `EventStream` (`event_stream.py`) over the transport of `transport.py`.

Deliberate choices:

- **The token goes with generate only.** It guards that endpoint; reads never carry it.
- **Answers are returned, not judged.** Each method returns httpx's response; a transport failure
  raises httpx's `TransportError`.
- **Streams have a client of their own**, made on the first `open_stream`, whose connections let a
  stream's read timeout change mid-response and are never kept alive (`transport.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import httpx

from agentchat.contract import (
    AGENTS_PATH,
    EVENT_STREAM,
    GENERATE_PATH,
    HEALTH_PATH,
    IDEMPOTENCY_KEY,
    LAST_EVENT_ID,
    MESSAGES_PAGE_LIMIT,
    MESSAGES_PATH,
    PERFORMANCE_PATH,
    STREAM_PATH,
    equity_path,
)
from agentchat.event_stream import EventStream
from agentchat.transport import shared_tls, stream_transport

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "HubClient", "generate_timeout"]

DEFAULT_TIMEOUT_SECONDS = 10.0
# An idle connection is dropped well before the hub closes it (uvicorn's keep-alive timeout, 5 s), so a
# request never goes out on a connection the hub is closing at that moment. The pool's bounds are httpx's
# defaults: `Limits` given only an expiry would leave them unbounded.
_KEEP_ALIVE_BELOW_THE_HUBS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=2.0)


def generate_timeout(llm_timeout_seconds: float) -> httpx.Timeout:
    """Timeouts for a client that generates: the hub may wait `llm_timeout_seconds` per LLM call first."""
    return httpx.Timeout(max(60.0, llm_timeout_seconds + 30.0), connect=5.0)


class HubClient:
    """One hub's HTTP API over httpx; each method is one request and returns httpx's response.

    `timeout` bounds each request (the connect, and each read); `token` goes with generate only.
    Its plain requests may come from several threads at once (httpx's client may be shared between
    threads; the dashboard shares one per hub); open streams from one thread at a time, but for
    `EventStream.shutdown`. Close it (or use `with`).
    """

    def __init__(
        self, hub_url: str, token: str | None = None, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._http = httpx.Client(
            base_url=self.hub_url, timeout=self.timeout, verify=shared_tls(), limits=_KEEP_ALIVE_BELOW_THE_HUBS
        )
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
        limit: int = MESSAGES_PAGE_LIMIT,
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
            self._streams = httpx.Client(base_url=self.hub_url, timeout=self.timeout, transport=stream_transport())
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
