"""`GET /api/chat/stream`: the SSE endpoint, as a raw ASGI app.

It sits in front of Starlette's middleware stack on purpose: Starlette's error and
exception middlewares wrap `send` in a coroutine of their own, which would add two
awaits to every delivery and hide the server's transport from the stream's socket
(`sockets/uvicorn.py`). Errors are still answered with the hub's JSON error body
(`responses.py`), and CORS is applied here by the same rule as the rest of the API.

The order of work on connect is what makes resume exact: register with the fan-out
(collecting live frames), read the store, send `ready` and the replay, then go live.

What a browser's EventSource needs to keep coming back: a response that is not 200
`text/event-stream` ends it for good, so a transient condition (the store unavailable, the
hub at its stream cap) is answered 200 with `retry:` and `event: unavailable` saying why,
then the stream closes and the client reconnects. A refusal that will not change by asking
again (a bad parameter) stays a 4xx with the JSON error body. `HEAD` answers the headers at
once, with no subscriber. A `Last-Event-ID` above every id the store ever handed out (a reset
or another store) is a gap: `ready` says `gap: true` and the stream replays what is retained.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Scope, Send

from agentchat.errors import AgentchatError, StoreUnavailable
from agentchat.hub.params import parse_agents, parse_int
from agentchat.hub.responses import agentchat_error_response, error_response
from agentchat.hub.sockets import open_socket
from agentchat.message import Message, event_frame, format_timestamp, utc_now
from agentchat.store import Bounds

if TYPE_CHECKING:
    from agentchat.hub.app import Hub

__all__ = ["RETRY_MILLISECONDS", "RecentBounds", "StreamEndpoint"]

logger = logging.getLogger("agentchat.hub")

RETRY_MILLISECONDS = 3000
FULL_LOG_SECONDS = 10.0  # at most one "stream cap reached" line this often


class RecentBounds:
    """Store bounds for `ready` on a fresh connect, refreshed at most once every `max_age_seconds`.

    A connect without Last-Event-ID replays nothing, so it need not cost a store read
    and a thread hop: thousands of viewers arriving at once share one read a second.
    A stale value is served while the next read runs (only the very first connect
    waits), and `last_id` comes from the fan-out when it has published something newer.
    """

    def __init__(self, hub: Hub, max_age_seconds: float = 1.0) -> None:
        self.hub = hub
        self.max_age_seconds = max_age_seconds
        self._bounds: Bounds | None = None
        self._read_at = 0.0
        self._reading: asyncio.Future[Bounds] | None = None

    async def get(self) -> Bounds:
        if time.monotonic() - self._read_at > self.max_age_seconds and self._reading is None:
            self._reading = asyncio.ensure_future(self.hub.in_thread(self.hub.store.bounds))
            self._reading.add_done_callback(self._read_done)
        if self._bounds is None:
            assert self._reading is not None
            self._bounds = await asyncio.shield(self._reading)
        published = self.hub.fanout.last_published_id
        if published > (self._bounds.last_id or 0):
            return Bounds(self._bounds.earliest_id, published)
        return self._bounds

    def _read_done(self, reading: asyncio.Future[Bounds]) -> None:
        self._reading = None
        if not reading.cancelled() and reading.exception() is None:
            self._bounds = reading.result()
            self._read_at = time.monotonic()


class StreamEndpoint:
    """The ASGI app for one path; one call per SSE connection."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.recent_bounds = RecentBounds(hub)
        self._full_logged_at = -FULL_LOG_SECONDS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One stream; an unexpected error is one log line and, before any byte was sent, a JSON 500."""
        started = [False]  # whether http.response.start went out

        async def first_send(message: AsgiMessage) -> None:
            started[0] = True
            await send(message)

        try:
            await self._serve(scope, receive, send, first_send)
        except Exception:
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started[0]:
                detail = "the hub hit an unexpected error; see its log"
                await error_response("internal_error", detail, 500)(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, first_send: Send) -> None:
        hub = self.hub
        try:
            agents, last_event_id = self._parse(scope)
        except AgentchatError as error:
            await agentchat_error_response(error)(scope, receive, first_send)
            return
        if scope["method"] == "HEAD":
            await first_send({"type": "http.response.start", "status": 200, "headers": self._headers(scope)})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if len(hub.fanout) >= hub.stream_cap:
            self._log_full()
            hub.metrics.streams_refused.labels("full").inc()
            await self._unavailable(
                scope, first_send, "hub_full", f"the hub holds its limit of {hub.stream_cap} streams"
            )
            return
        subscriber = hub.fanout.add(open_socket(send), agents)  # before reading the store: see module docstring
        replay: list[Message] = []
        try:
            gap = False
            resume_from = last_event_id or 0
            try:
                if last_event_id is None:
                    bounds = await self.recent_bounds.get()
                else:
                    bounds, replay, gap, resume_from = await hub.in_thread(self._read_history, agents, last_event_id)
            except StoreUnavailable as error:
                hub.fanout.remove(subscriber)
                hub.metrics.streams_refused.labels("store").inc()
                await self._unavailable(scope, first_send, error.code, error.detail)
                return
            except AgentchatError as error:
                hub.fanout.remove(subscriber)
                await agentchat_error_response(error)(scope, receive, first_send)
                return
            await first_send({"type": "http.response.start", "status": 200, "headers": self._headers(scope)})
            ready = {
                "server_time": format_timestamp(utc_now()),
                "heartbeat_seconds": hub.settings.heartbeat_seconds,
                "last_id": bounds.last_id,
                "earliest_id": bounds.earliest_id,
                "gap": gap,
                "store_id": hub.store_id,
            }
            # retry: in the ready block itself: a block of its own is an empty message to some parsers
            first = [b"retry: %d\n" % RETRY_MILLISECONDS + event_frame("ready", ready)]
            first.extend(message.sse_frame() for message in replay)
            await send({"type": "http.response.body", "body": b"".join(first), "more_body": True})
            replayed_up_to = max(replay[-1].id if replay else 0, resume_from)
            hub.fanout.go_live(subscriber, replayed_up_to)
            while (await receive())["type"] != "http.disconnect":
                pass
        finally:
            hub.fanout.remove(subscriber)

    async def _unavailable(self, scope: Scope, send: Send, code: str, detail: str) -> None:
        """200, `retry:` and `event: unavailable`, then the end: a browser's EventSource comes back after it."""
        await send({"type": "http.response.start", "status": 200, "headers": self._headers(scope)})
        body = b"retry: %d\n" % RETRY_MILLISECONDS + event_frame("unavailable", {"error": code, "detail": detail})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _log_full(self) -> None:
        now = time.monotonic()
        if now - self._full_logged_at >= FULL_LOG_SECONDS:
            self._full_logged_at = now
            logger.warning("stream cap of %d reached: new streams are told to come back later", self.hub.stream_cap)

    def _parse(self, scope: Scope) -> tuple[frozenset[str] | None, int | None]:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        agents = parse_agents(query.get("agents", [""])[-1], self.hub.agent_ids)
        # Both are checked and the header wins: a bad parameter is a 400 even beside a good header.
        in_query = query.get("last_event_id", [None])[-1]
        last_event_id = None if in_query is None else parse_int("last_event_id", in_query)
        header = dict(scope["headers"]).get(b"last-event-id")
        if header is not None:  # an empty one too: EventSource sends none rather than an empty one
            last_event_id = parse_int("Last-Event-ID", header.decode("latin-1"))
        return agents, last_event_id

    def _read_history(
        self, agents: frozenset[str] | None, last_event_id: int
    ) -> tuple[Bounds, list[Message], bool, int]:
        """Bounds, the replay, whether there is a gap, and the id the replay resumes from (a worker thread).

        A gap is either retention (the client's id is below `earliest_id - 1`) or an id the store
        never handed out (a reset store or another one): then the replay starts from the beginning.
        """
        store = self.hub.store
        bounds = store.bounds()
        wanted = sorted(agents) if agents else None
        if last_event_id > (bounds.last_id or 0) and last_event_id > store.last_assigned_id():
            return bounds, store.all_since(0, wanted), True, 0
        gap = bounds.earliest_id is not None and last_event_id < bounds.earliest_id - 1
        return bounds, store.all_since(last_event_id, wanted), gap, last_event_id

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        origin = dict(scope["headers"]).get(b"origin")
        if origin and origin.decode("latin-1") in self.hub.settings.stream_cors_origins:
            headers += [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        return headers
