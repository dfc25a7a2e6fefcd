"""The hub: `create_app(settings)` builds the ASGI app, its lifespan starts the background work.

`Hub` holds one process's parts: store, bus, fan-out, the write path (`rounds.py`), metrics.
`HubApp` is the outermost ASGI callable. Every request first passes the `RequestGuard`
(`guard.py`: Host, Origin, header size); then it routes the SSE stream (GET and HEAD)
straight to `StreamEndpoint` (see `stream.py` for why it skips Starlette's middleware) and
everything else to a Starlette app with JSON errors (`responses.py`) and, when
configured, CORS.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agentchat import migrate
from agentchat.bus import create_bus
from agentchat.contract import (
    AGENTS_PATH,
    EQUITY_PATH,
    GENERATE_PATH,
    HEALTH_PATH,
    HISTORY_PATH,
    MARKET_PATH,
    MESSAGE_PATH,
    MESSAGES_PATH,
    METRICS_PATH,
    PERFORMANCE_PATH,
    STREAM_PATH,
)
from agentchat.errors import StoreUnavailable
from agentchat.generator import Generator, LlmGenerator, OfflineGenerator
from agentchat.generator.health import OFFLINE, WriterHealth
from agentchat.hub import book_routes, history_routes, openapi, publish_routes, routes, viewer
from agentchat.hub.book_frames import BookFrames
from agentchat.hub.decisions import ModelDecider
from agentchat.hub.fanout import Fanout
from agentchat.hub.fill_frames import FillFrames
from agentchat.hub.guard import RequestGuard
from agentchat.hub.heads import HeadWatch
from agentchat.hub.limits import descriptor_budget, stream_cap
from agentchat.hub.market import SharedMarket
from agentchat.hub.metrics import HubMetrics
from agentchat.hub.pacing import ConnectGate
from agentchat.hub.publish import Publisher
from agentchat.hub.ratelimit import SlidingWindowLimit
from agentchat.hub.responses import EXCEPTION_HANDLERS, JsonCorsMiddleware, agentchat_error_response
from agentchat.hub.resume import ResumeCounts
from agentchat.hub.rounds import RECENT_FOR_REPLIES, RecentMessages, Rounds
from agentchat.hub.stream import StreamEndpoint
from agentchat.hub.window import FrameWindow
from agentchat.ledger import Ledger
from agentchat.message import event_frame, format_timestamp, utc_now
from agentchat.settings import Settings
from agentchat.store import Store, create_store_engine

__all__ = ["Hub", "HubApp", "create_app"]

logger = logging.getLogger("agentchat.hub")

T = TypeVar("T")


class Hub:
    """Everything one hub process holds: settings, store, bus, fan-out, rounds, metrics."""

    def __init__(self, settings: Settings, generator: Generator | None = None) -> None:
        self.settings = settings
        self.roster = settings.roster()
        self.agent_ids = frozenset(agent.id for agent in self.roster)
        self.simulated = tuple(agent for agent in self.roster if not agent.external)  # rounds write for these
        self.store = Store(
            create_store_engine(settings.database_url, settings.db_timeout_seconds, settings.db_pool_size),
            settings.retention_seconds,
            max_per_agent=settings.max_per_agent,
            history_days=settings.history_days,
        )
        self.bus = create_bus(self.store, settings.db_timeout_seconds)
        self.fanout = Fanout(settings.client_buffer_bytes)
        self.window = FrameWindow(
            settings.resume_window_messages,
            settings.resume_window_bytes,
            settings.retention_seconds,
            settings.max_per_agent,
        )
        self.resume_counts = ResumeCounts()
        self.connect_gate = ConnectGate(settings.connects_per_tick)
        self.metrics = HubMetrics(self.fanout, self.resume_counts, self.connect_gate)
        self.stream_cap = stream_cap(settings)
        self.metrics.stream_cap.set(self.stream_cap)
        budget = descriptor_budget(settings)  # streams and connections waiting for a head share it
        self.heads = HeadWatch(
            settings.head_timeout_seconds,
            budget=lambda: budget - len(self.fanout),
            on_refused=lambda reason: self.metrics.connections_refused.labels(reason).inc(),
        )
        self.store_id: str | None = None  # the store's identity, read at start (lifespan)
        self.generator: Generator = generator or _default_generator(settings, self.metrics)
        self.generate_limit = SlidingWindowLimit(settings.generate_per_minute, window_seconds=60.0)
        self.ledger = Ledger(self.store.engine)  # the simulation's state and the agents' books
        self.market = SharedMarket(self.generator, self.ledger, self.roster, _decider(settings, self.metrics))
        self.book_frames = BookFrames(self.ledger, self.fanout, settings.book_frames == "every_stream")
        self.fill_frames = FillFrames(self.book_frames, [a.id for a in self.roster if a.external])
        self.recent = RecentMessages(settings.retention_seconds)  # what agents may answer
        self.rounds = Rounds(self.store, self.bus, self.market, self.recent, self.generate_limit)
        self.publisher = Publisher(self.rounds, self.ledger, self.roster, settings.publish_per_minute)
        self.started_monotonic = time.monotonic()
        self.migrated = False

    def generator_status(self) -> str:
        """`/healthz`'s `generator`: `offline` (no model set), `ok`, or `degraded: <reason>` (`generator/health.py`)."""
        health = getattr(self.generator, "health", None)
        return health.status if isinstance(health, WriterHealth) else OFFLINE

    def public_detail(self, detail: str) -> str:
        """`detail` as anyone may read it: a SQLite file named by its name, not its path on this machine."""
        database = sa.make_url(self.settings.database_url).database
        if self.store.is_postgres or not database or database == ":memory:":
            return detail
        for path in {str(Path(database).resolve()), database}:
            detail = detail.replace(path, Path(database).name)
        return detail

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking store or generator work off the event loop."""
        return await anyio.to_thread.run_sync(functools.partial(function, *args))

    def migrate(self) -> None:
        if not self.migrated:
            migrate.upgrade(self.store.engine)
            self.migrated = True

    async def heartbeat_forever(self) -> None:
        period = self.settings.heartbeat_seconds
        while True:
            await asyncio.sleep(period)
            frame = event_frame("heartbeat", {"server_time": format_timestamp(utc_now()), "clients": len(self.fanout)})
            self.fanout.stats.heartbeats += self.fanout.broadcast(frame)

    async def purge_forever(self) -> None:
        period = min(60.0, max(1.0, self.settings.retention_seconds / 4))
        while True:
            await asyncio.sleep(period)
            try:
                removed = await self.in_thread(self.store.purge)
            except StoreUnavailable as error:
                logger.warning("history purge skipped: %s", error.detail)
                continue
            if removed:
                logger.info("history purge removed %d messages older than %g days", removed, self.settings.history_days)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.in_thread(self.migrate)
        self.store_id = await self.in_thread(self.store.identify)
        self.recent.remember(await self.in_thread(self.store.latest, RECENT_FOR_REPLIES))
        if self.window.enabled:  # once at start, for every viewer that resumes after a restart
            self.window.fill(await self.in_thread(self.store.latest, self.window.max_messages))
            self.bus.start_after(self.window.last_id)  # nothing falls between the fill and the bus
        unsubscribe_window = self.bus.subscribe(self.window.remember)
        unsubscribe = self.bus.subscribe(self.fanout.publish)
        unsubscribe_recent = self.bus.subscribe(self.recent.remember)
        await self.book_frames.start()
        unsubscribe_books = self.bus.subscribe(self.book_frames.on_messages)
        unsubscribe_fills = self.bus.subscribe(self.fill_frames.on_messages)
        await self.bus.start()
        tasks = [asyncio.create_task(self.heartbeat_forever()), asyncio.create_task(self.purge_forever())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            self.fanout.close_all()
            unsubscribe()
            unsubscribe_window()
            unsubscribe_recent()
            unsubscribe_books()
            unsubscribe_fills()
            await self.fill_frames.stop()
            await self.book_frames.stop()
            await self.bus.stop()
            self.store.dispose()


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
                        "Idempotency-Key",
                        "Last-Event-ID",
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
                Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
                *viewer.routes(),
            ],
            middleware=middleware,
            exception_handlers=EXCEPTION_HANDLERS,
            lifespan=hub.lifespan,
        )
        self.starlette.state.hub = hub
        # No trailing-slash redirects: Starlette builds their Location from the request's Host header, so
        # a redirect would echo whatever Host a client sent. `/api/chat/messages/` is a 404 like any unknown path.
        self.starlette.router.redirect_slashes = False

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


def _default_generator(settings: Settings, metrics: HubMetrics) -> Generator:
    """The offline generator, or with `AGENTCHAT_LLM_BASE_URL` the LLM one, its failures counted in /metrics."""
    if settings.llm_base_url:
        return LlmGenerator.from_settings(settings, on_failure=metrics.llm_failures.inc)
    return OfflineGenerator()


def _decider(settings: Settings, metrics: HubMetrics) -> ModelDecider | None:
    """With `AGENTCHAT_LLM_DECIDES=true` and an endpoint: the model decides the trades, its misses counted."""
    if not (settings.llm_decides and settings.llm_base_url and settings.llm_model):
        return None
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ModelDecider(
        settings.llm_base_url,
        settings.llm_model,
        api_key,
        settings.llm_timeout_seconds,
        on_invalid=metrics.llm_decisions_invalid.inc,
    )


def create_app(settings: Settings, generator: Generator | None = None) -> HubApp:
    return HubApp(Hub(settings, generator))
