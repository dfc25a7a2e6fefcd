"""The publish path: an external agent's own message, and its order filled in the one shared market.

`POST /api/chat/messages` comes here once the route has found the agent by its token and read the
body (`PublishRequest.parse`). The rule is the generate path's, *persist, then publish*, with the
same locks, so a published message and a round can never interleave:

1. An `Idempotency-Key` already answered returns the first answer and changes nothing. The key is
   remembered in the rounds' table under a name of its own (`stored_key`: the agent and the key,
   hashed), with a digest of the body; the same key with another body is a 422.
2. The agent's `AGENTCHAT_PUBLISH_PER_MINUTE` is counted: every well-formed request that reaches
   the market counts, an order the book then refuses too; a replay and a malformed body do not.
3. Under the hub's round lock the store runs one transaction, after the advisory lock (PostgreSQL)
   or the write lock (SQLite) that orders every hub's rounds: the writer reads the market and the
   books as the latest round left them (`SimulationStore.load_for_update`), fills the order at the
   current price if the book can hold it (`market/trading.py`: `execute`), writes the book back and
   returns the message's draft, whose `meta` carries the fill. The book and the message commit
   together or not at all, and every hub on the store sees the same price and the same book.

The order and the order rule are the market's (`market/trading.py`); a fill the book cannot hold is
a 400, and nothing is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import anyio.to_thread
from sqlalchemy.engine import Connection

from agentchat.agents import Agent
from agentchat.errors import BadRequest
from agentchat.hub.ratelimit import SlidingWindowLimit
from agentchat.hub.rounds import Rounds
from agentchat.market.state import SimulationState
from agentchat.market.storage import SimulationStore
from agentchat.market.trading import Order, execute, parse_order
from agentchat.message import (
    MAX_CONTENT_CHARS,
    MAX_CONTENT_JSON_BYTES,
    MESSAGE_KINDS,
    Draft,
    Message,
    MessageKind,
    dumps,
    message_kind,
    utc_now,
)
from agentchat.store import RoundWriter

__all__ = ["MAX_DETAILS_BYTES", "PublishRequest", "Publisher", "stored_key"]

MAX_DETAILS_BYTES = 8 * 1024  # SPEC section 4: `details` as compact JSON
MAX_REPLY_TO = 2**63 - 1  # the store's message ids are 64-bit
FIELDS = frozenset({"agent_id", "kind", "content", "reply_to", "confidence", "order", "details"})


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """A checked `POST /api/chat/messages` body."""

    agent_id: str
    kind: MessageKind
    content: str
    reply_to: int | None = None
    confidence: float | None = None
    order: Order | None = None
    details: dict[str, Any] | None = None

    @classmethod
    def parse(cls, document: Any) -> PublishRequest:
        """The body as a request, or a `BadRequest` naming the first thing wrong with it."""
        if not isinstance(document, dict):
            raise BadRequest('body must be a JSON object like {"agent_id": ..., "kind": "analysis", "content": ...}')
        extra = sorted(set(document) - FIELDS)
        if extra:
            raise BadRequest(f"unknown field {', '.join(extra)}; the fields are {', '.join(sorted(FIELDS))}")
        agent_id, kind, content = document.get("agent_id"), document.get("kind"), document.get("content")
        if not isinstance(agent_id, str) or not agent_id:
            raise BadRequest("'agent_id' must be the publishing agent's id")
        if kind not in MESSAGE_KINDS:
            raise BadRequest(f"'kind' must be one of {', '.join(MESSAGE_KINDS)}")
        if not isinstance(content, str) or not content.strip():
            raise BadRequest("'content' must be non-empty text")
        if len(content) > MAX_CONTENT_CHARS or len(dumps(content).encode()) - 2 > MAX_CONTENT_JSON_BYTES:
            raise BadRequest(f"'content' is over {MAX_CONTENT_CHARS} characters or {MAX_CONTENT_JSON_BYTES} bytes")
        reply_to = document.get("reply_to")
        if reply_to is not None and (not isinstance(reply_to, int) or isinstance(reply_to, bool)):
            raise BadRequest("'reply_to' must be a message id or null")
        if reply_to is not None and not 0 < reply_to <= MAX_REPLY_TO:
            raise BadRequest("'reply_to' must be a message id or null")
        confidence = document.get("confidence")
        if confidence is not None and (not _number(confidence) or not 0 <= confidence <= 1):
            raise BadRequest("'confidence' must be a number from 0 to 1, or null")
        order = document.get("order")
        details = document.get("details")
        if details is not None:
            if not isinstance(details, dict):
                raise BadRequest("'details' must be a JSON object")
            size = len(dumps(details).encode())
            if size > MAX_DETAILS_BYTES:
                raise BadRequest(f"'details' is {size} bytes as JSON; the limit is {MAX_DETAILS_BYTES}")
        return cls(
            agent_id=agent_id,
            kind=message_kind(str(kind)),
            content=content,
            reply_to=reply_to,
            confidence=float(confidence) if confidence is not None else None,
            order=parse_order(order) if order is not None else None,
            details=details,
        )

    def digest(self) -> str:
        """The request as a digest, however its JSON was spelled: what an Idempotency-Key is bound to."""
        canonical = json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def stored_key(agent_id: str, idempotency_key: str) -> str:
    """The name a publish's key is kept under: per agent, and apart from generate's keys."""
    return "publish:" + hashlib.sha256(f"{agent_id}\n{idempotency_key}".encode()).hexdigest()


class Publisher:
    """Stores and broadcasts external agents' messages, filling their orders (see the module docstring)."""

    def __init__(
        self, rounds: Rounds, simulation_store: SimulationStore, roster: Sequence[Agent], per_minute: int
    ) -> None:
        self.rounds = rounds  # its lock, store and bus: a publish queues with the rounds
        self.simulation_store = simulation_store
        self.agent_ids = tuple(agent.id for agent in roster)
        self.per_minute = per_minute
        self._limits: dict[str, SlidingWindowLimit] = {}

    def _limit(self, agent_id: str) -> SlidingWindowLimit:
        limit = self._limits.get(agent_id)
        if limit is None:
            limit = self._limits[agent_id] = SlidingWindowLimit(self.per_minute, window_seconds=60.0)
        return limit

    async def publish(self, agent: Agent, request: PublishRequest, idempotency_key: str | None) -> tuple[Message, bool]:
        """The stored message and whether it was created now (False: the first answer to the key)."""
        store, bus = self.rounds.store, self.rounds.bus
        key = stored_key(agent.id, idempotency_key) if idempotency_key is not None else None
        body_hash = request.digest()
        if key is not None:
            earlier = await anyio.to_thread.run_sync(store.find_round, key, body_hash)
            if earlier:
                return earlier[0], False
        self._limit(agent.id).acquire(f"messages of {agent.id}")  # past it: RateLimited, 429
        write = self._writer(agent, request)
        async with self.rounds.lock:
            messages, created = await anyio.to_thread.run_sync(
                store.insert_round, write, key, bus.before_commit, body_hash
            )
            if created:
                await bus.publish(messages)
        return messages[0], created

    def _writer(self, agent: Agent, request: PublishRequest) -> RoundWriter:
        def write(connection: Connection) -> list[Draft]:
            meta: dict[str, Any] = {
                "symbol": None,
                "side": None,
                "price": None,
                "confidence": request.confidence,
                "reply_to": request.reply_to,
            }
            order = request.order
            if order is not None:
                state = self.simulation_store.load_for_update(connection) or SimulationState.new()
                book, trade = execute(state.book(agent.id), order, state.prices())
                after = dataclasses.replace(state, books={**state.books, agent.id: book})
                self.simulation_store.save_fill(connection, after, agent.id, self.agent_ids, utc_now())
                meta.update(trade)
            return [Draft(agent.id, agent.name, request.kind, request.content, meta, request.details)]

        return write
