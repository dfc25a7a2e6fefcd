"""`Hub`: one hub process's parts, built once from its `Settings`, and what endpoints ask of them.

Every endpoint reaches the parts through `request.app.state.hub`. This module imports no
endpoint, so the endpoints (`routes.py`, `stream.py`, ...) import it at run time and `app.py`,
which assembles them, imports both: no import runs in a circle. Starting and stopping the
parts is the lifespan's (`app.py`); the work on a timer is `periodic.py`'s.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa

from agentchat import migrate
from agentchat.bus import create_bus
from agentchat.generator import OfflineGenerator
from agentchat.generator.health import OFFLINE, WriterHealth
from agentchat.hub.book_frames import BookFrames
from agentchat.hub.fanout import Fanout
from agentchat.hub.fill_frames import FillFrames
from agentchat.hub.heads import HeadWatch
from agentchat.hub.limits import descriptor_budget, stream_cap
from agentchat.hub.metrics import HubMetrics
from agentchat.hub.pacing import ConnectGate
from agentchat.hub.publish import Publisher
from agentchat.hub.ratelimit import SlidingWindowLimit
from agentchat.hub.resume import ResumeCounts
from agentchat.hub.rounds import RecentMessages, Rounds
from agentchat.hub.window import FrameWindow
from agentchat.market.generation import Generator
from agentchat.market.round import SharedMarket
from agentchat.market.storage import SimulationStore
from agentchat.settings import Settings
from agentchat.store import Store, create_store_engine

if TYPE_CHECKING:
    from agentchat.hub.decisions import ModelDecider

__all__ = ["Hub"]

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
        self.simulation_store = SimulationStore(self.store.engine)  # the simulation's state and the agents' books
        self.market = SharedMarket(self.generator, self.simulation_store, self.roster, _decider(settings, self.metrics))
        self.book_frames = BookFrames(self.simulation_store, self.fanout, settings.book_frames == "every_stream")
        self.fill_frames = FillFrames(self.book_frames, [a.id for a in self.roster if a.external])
        self.recent = RecentMessages(settings.retention_seconds)  # what agents may answer
        self.rounds = Rounds(self.store, self.bus, self.market, self.recent, self.generate_limit)
        self.publisher = Publisher(self.rounds, self.simulation_store, self.roster, settings.publish_per_minute)
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


def _default_generator(settings: Settings, metrics: HubMetrics) -> Generator:
    """The offline generator, or with `AGENTCHAT_LLM_BASE_URL` the LLM one, its failures counted in /metrics.

    The model's clients are imported only where a model is configured (they bring the HTTP client)."""
    if settings.llm_base_url:
        from agentchat.generator.llm import LlmGenerator

        return LlmGenerator.from_settings(settings, on_failure=metrics.llm_failures.inc)
    return OfflineGenerator()


def _decider(settings: Settings, metrics: HubMetrics) -> ModelDecider | None:
    """With `AGENTCHAT_LLM_DECIDES=true` and an endpoint: the model decides the trades, its misses counted."""
    if not (settings.llm_decides and settings.llm_base_url and settings.llm_model):
        return None
    from agentchat.hub.decisions import ModelDecider

    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ModelDecider(
        settings.llm_base_url,
        settings.llm_model,
        api_key,
        settings.llm_timeout_seconds,
        on_invalid=metrics.llm_decisions_invalid.inc,
    )
