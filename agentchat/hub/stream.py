"""`GET /api/chat/stream`: the SSE endpoint, as a raw ASGI app.

It sits in front of Starlette's middleware stack on purpose: Starlette's error and
exception middlewares wrap `send` in a coroutine of their own, which would add two
awaits to every delivery and hide the server's transport from the stream's socket
(`sockets/uvicorn.py`). Errors are still answered with the hub's JSON error body
(`responses.py`), and CORS is applied here by the same rule as the rest of the API.

The order of work on connect is what makes resume exact: register with the fan-out
(collecting live frames), read the store, send `ready` and the replay, then go live.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from agentchat.errors import AgentchatError
from agentchat.hub.params import parse_agents, parse_int
from agentchat.hub.responses import agentchat_error_response
from agentchat.hub.sockets import open_socket
from agentchat.message import Message, event_frame, format_timestamp, utc_now
from agentchat.store import Bounds

if TYPE_CHECKING:
    from agentchat.hub.app import Hub

__all__ = ["RETRY_MILLISECONDS", "RecentBounds", "StreamEndpoint"]

RETRY_MILLISECONDS = 3000


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        try:
            agents, last_event_id = self._parse(scope)
        except AgentchatError as error:
            await agentchat_error_response(error)(scope, receive, send)
            return
        subscriber = hub.fanout.add(open_socket(send), agents)  # before reading the store: see module docstring
        replay: list[Message] = []
        try:
            try:
                if last_event_id is None:
                    bounds = await self.recent_bounds.get()
                else:
                    bounds, replay = await hub.in_thread(self._read_history, agents, last_event_id)
            except AgentchatError as error:
                hub.fanout.remove(subscriber)
                await agentchat_error_response(error)(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": self._headers(scope)})
            ready = {
                "server_time": format_timestamp(utc_now()),
                "heartbeat_seconds": hub.settings.heartbeat_seconds,
                "last_id": bounds.last_id,
                "earliest_id": bounds.earliest_id,
                "gap": last_event_id is not None
                and bounds.earliest_id is not None
                and last_event_id < bounds.earliest_id - 1,
            }
            first = [b"retry: %d\n\n" % RETRY_MILLISECONDS, event_frame("ready", ready)]
            first.extend(message.sse_frame() for message in replay)
            await send({"type": "http.response.body", "body": b"".join(first), "more_body": True})
            replayed_up_to = max(replay[-1].id if replay else 0, last_event_id or 0)
            hub.fanout.go_live(subscriber, replayed_up_to)
            while (await receive())["type"] != "http.disconnect":
                pass
        finally:
            hub.fanout.remove(subscriber)

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

    def _read_history(self, agents: frozenset[str] | None, last_event_id: int) -> tuple[Bounds, list[Message]]:
        """Bounds and every retained message after `last_event_id` (runs in a worker thread)."""
        store = self.hub.store
        return store.bounds(), store.all_since(last_event_id, sorted(agents) if agents else None)

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        origin = dict(scope["headers"]).get(b"origin")
        if origin and origin.decode("latin-1") in self.hub.settings.cors_origins:
            headers += [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        return headers
