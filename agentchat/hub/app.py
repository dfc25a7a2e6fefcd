"""The hub's assembly: `create_app(settings)` builds the ASGI app from `Hub`'s parts; its lifespan starts them.

The parts are built in `parts.py`; this module only puts them together: the route table, the
middleware, the ASGI callable and the lifespan. It imports the endpoints and no endpoint imports it
(they import `parts.py`), so no import runs in a circle. `HubApp` is the outermost ASGI callable.
Every request first passes the `RequestGuard` (`guard.py`: Host, Origin, header size); then it
routes the SSE stream (GET and HEAD) straight to `StreamEndpoint` (see `stream.py` for why it skips
Starlette's middleware) and everything else to a Starlette app with JSON errors (`responses.py`)
and, when configured, CORS.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agentchat.contract import (
    AGENTS_PATH,
    EQUITY_PATH,
    GENERATE_PATH,
    HEALTH_PATH,
    HISTORY_PATH,
    IDEMPOTENCY_KEY,
    LAST_EVENT_ID,
    MARKET_PATH,
    MESSAGE_PATH,
    MESSAGES_PATH,
    METRICS_PATH,
    OPENAPI_PATH,
    PERFORMANCE_PATH,
    STREAM_PATH,
)
from agentchat.hub import book_routes, history_routes, openapi, periodic, publish_routes, routes, viewer
from agentchat.hub.guard import RequestGuard
from agentchat.hub.parts import Hub
from agentchat.hub.responses import EXCEPTION_HANDLERS, JsonCorsMiddleware, agentchat_error_response
from agentchat.hub.rounds import RECENT_FOR_REPLIES
from agentchat.hub.sockets import StreamSocket
from agentchat.hub.stream import StreamEndpoint
from agentchat.market.generation import Generator
from agentchat.settings import Settings

__all__ = ["HubApp", "create_app", "lifespan"]


@contextlib.asynccontextmanager
async def lifespan(hub: Hub) -> AsyncIterator[None]:
    """Start the parts in order; one exit stack stops them in the reverse order, also when a step fails.

    The start migrates the store, reads its identity and the messages the recent list and the frame
    window begin with, subscribes the listeners to the bus, starts the bus, then the heartbeat and
    purge loops. The stack releases the loops, the
    open streams, the subscriptions, then the fill and book frames' tasks, the bus and last the store:
    those stops are pushed before the subscriptions, so they run once no listener is left.
    """
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(hub.store.dispose)
        await hub.in_thread(hub.migrate)
        hub.store_id = await hub.in_thread(hub.store.identify)
        hub.recent.remember(await hub.in_thread(hub.store.latest, RECENT_FOR_REPLIES))
        if hub.window.enabled:  # once at start, for every viewer that resumes after a restart
            hub.window.fill(await hub.in_thread(hub.store.latest, hub.window.max_messages))
            hub.bus.start_after(hub.window.last_id)  # nothing falls between the fill and the bus
        stack.push_async_callback(hub.bus.stop)
        stack.push_async_callback(hub.book_frames.stop)
        stack.push_async_callback(hub.fill_frames.stop)
        stack.enter_context(hub.bus.subscribe(hub.window.remember))
        stack.enter_context(hub.bus.subscribe(hub.fanout.publish))
        stack.enter_context(hub.bus.subscribe(hub.recent.remember))
        await hub.book_frames.start()
        stack.enter_context(hub.bus.subscribe(hub.book_frames.on_messages))
        stack.enter_context(hub.bus.subscribe(hub.fill_frames.on_messages))
        await hub.bus.start()
        stack.callback(hub.fanout.close_all)
        settings = hub.settings
        for loop in (
            periodic.heartbeat_forever(hub.fanout, settings.heartbeat_seconds),
            periodic.purge_forever(hub.store, settings.retention_seconds, settings.history_days),
        ):
            stack.callback(asyncio.create_task(loop).cancel)
        yield


class HubApp:
    """The ASGI entry point: the stream by its own path, everything else through Starlette."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.stream = StreamEndpoint(hub)
        self.guard = RequestGuard(hub.settings, viewer.PUBLIC_PATHS)
        middleware = []
        if hub.settings.cors_origins:
            middleware.append(
                Middleware(
                    JsonCorsMiddleware,
                    allow_origins=list(hub.settings.cors_origins),
                    allow_methods=["GET", "POST"],
                    allow_headers=[
                        "Authorization",
                        "Content-Type",
                        IDEMPOTENCY_KEY,
                        LAST_EVENT_ID,
                        "If-None-Match",
                    ],
                    expose_headers=["ETag", "Retry-After"],
                )
            )
        self.starlette = Starlette(
            routes=[
                Route(STREAM_PATH, self.stream, methods=["GET"]),
                Route(GENERATE_PATH, routes.generate, methods=["POST"]),
                Route(MESSAGES_PATH, publish_routes.messages_resource, methods=["GET", "POST"]),
                Route(MARKET_PATH, publish_routes.market, methods=["GET"]),
                Route(MESSAGE_PATH, history_routes.message, methods=["GET"]),
                Route(HISTORY_PATH, history_routes.history, methods=["GET"]),
                Route(AGENTS_PATH, routes.agents, methods=["GET"]),
                Route(PERFORMANCE_PATH, book_routes.performance, methods=["GET"]),
                Route(EQUITY_PATH, book_routes.equity, methods=["GET"]),
                Route(HEALTH_PATH, routes.healthz, methods=["GET"]),
                Route(METRICS_PATH, routes.metrics, methods=["GET"]),
                Route(OPENAPI_PATH, openapi.openapi_json, methods=["GET"]),
                *viewer.routes(),
            ],
            middleware=middleware,
            exception_handlers=EXCEPTION_HANDLERS,
            lifespan=lambda _app: lifespan(hub),
        )
        self.starlette.state.hub = hub
        # No trailing-slash redirects: Starlette builds their Location from the request's Host header, so
        # a redirect would echo whatever Host a client sent. `/api/chat/messages/` is a 404 like any unknown path.
        self.starlette.router.redirect_slashes = False

    def open_stream_at_once(
        self, scope: Scope, socket: StreamSocket, admitted: bool = False
    ) -> Callable[[], None] | asyncio.Future[None] | None:
        """A GET of the stream, offered by the server's protocol before any ASGI machinery is built for it
        (`sockets/protocols.py`): served now when the guard lets it pass and the endpoint needs no waiting
        (`StreamEndpoint.open_at_once`, which may also hand back a turn at the connect gate); None sends it
        the ASGI way, through `__call__`, which answers whatever this declined."""
        if self.guard.refusal(scope) is not None:
            return None
        return self.stream.open_at_once(scope, socket, admitted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.guard.refusal(scope)
            if refusal is not None:
                await agentchat_error_response(refusal)(scope, receive, send)
                return
            if scope["path"] == STREAM_PATH and scope["method"] in ("GET", "HEAD"):
                await self.stream(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


def create_app(settings: Settings, generator: Generator | None = None) -> HubApp:
    return HubApp(Hub(settings, generator))
