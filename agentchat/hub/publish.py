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
   books as the latest round left them (`Ledger.load_for_update`), fills the order at the current
   price, checks the book can hold it (`check_exposure`), writes the book back and returns the
   message's draft, whose `meta` carries the fill. The book and the message commit together or
   not at all, and every hub on the store sees the same price and the same book.

The order rule: after the fill, the agent's gross exposure (the sum of every position's quantity
times its current price, longs and shorts alike) is at most `MAX_GROSS_LEVERAGE` times its equity,
and its equity is positive. A fill that would break it is a 400, and nothing is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import anyio.to_thread
from sqlalchemy.engine import Connection

from agentchat.agents import Agent
from agentchat.books import QUANTITY_DIGITS, Book, Fill
from agentchat.errors import BadRequest
from agentchat.generator.market import INSTRUMENTS
from agentchat.generator.state import SimulationState
from agentchat.hub.ratelimit import SlidingWindowLimit
from agentchat.ledger import Ledger
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

if TYPE_CHECKING:
    from agentchat.hub.rounds import Rounds  # which imports the market, which checks decisions here

__all__ = [
    "MAX_DETAILS_BYTES",
    "MAX_GROSS_LEVERAGE",
    "MAX_ORDER_QUANTITY",
    "SYMBOLS",
    "Order",
    "PublishRequest",
    "Publisher",
    "check_exposure",
    "stored_key",
]

MAX_GROSS_LEVERAGE = 2.0  # gross exposure after a fill, at most this many times the agent's equity
MAX_ORDER_QUANTITY = 1e12  # any larger quantity is a typo, whatever the price
MAX_DETAILS_BYTES = 8 * 1024  # SPEC section 4: `details` as compact JSON
MAX_REPLY_TO = 2**63 - 1  # the store's message ids are 64-bit
SYMBOLS: tuple[str, ...] = tuple(instrument.symbol for instrument in INSTRUMENTS)
FIELDS = frozenset({"agent_id", "kind", "content", "reply_to", "confidence", "order", "details"})
ORDER_FIELDS = frozenset({"symbol", "side", "quantity"})


@dataclass(frozen=True, slots=True)
class Order:
    """What the agent asks to trade: `quantity` (> 0) units of `symbol`, bought or sold."""

    symbol: str
    side: str
    quantity: float

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side == "buy" else -self.quantity


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _order(value: Any) -> Order:
    if not isinstance(value, dict):
        raise BadRequest('\'order\' must be an object like {"symbol": "BTC", "side": "buy", "quantity": 0.5}')
    extra = sorted(set(value) - ORDER_FIELDS)
    if extra:
        raise BadRequest(f"unknown order field {', '.join(extra)}; the fields are symbol, side, quantity")
    symbol, side, quantity = value.get("symbol"), value.get("side"), value.get("quantity")
    if not isinstance(symbol, str) or symbol not in SYMBOLS:
        raise BadRequest(f"unknown symbol {str(symbol)[:40]!r}; the market has {', '.join(SYMBOLS)}")
    if side not in ("buy", "sell"):
        raise BadRequest("order side must be 'buy' or 'sell'")
    if not _number(quantity) or not 0 < quantity <= MAX_ORDER_QUANTITY or round(quantity, QUANTITY_DIGITS) == 0:
        raise BadRequest(f"order quantity must be a number above 0 and at most {MAX_ORDER_QUANTITY:g}")
    return Order(symbol, str(side), round(float(quantity), QUANTITY_DIGITS))


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
            order=_order(order) if order is not None else None,
            details=details,
        )

    def digest(self) -> str:
        """The request as a digest, however its JSON was spelled: what an Idempotency-Key is bound to."""
        canonical = json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def stored_key(agent_id: str, idempotency_key: str) -> str:
    """The name a publish's key is kept under: per agent, and apart from generate's keys."""
    return "publish:" + hashlib.sha256(f"{agent_id}\n{idempotency_key}".encode()).hexdigest()


def check_exposure(book: Book, prices: dict[str, float]) -> None:
    """The order rule (see the module docstring), on the book after the fill; a `BadRequest` when broken."""
    equity = book.equity(prices)
    gross = math.fsum(abs(position.quantity) * prices[symbol] for symbol, position in book.positions.items())
    if equity <= 0 or gross > MAX_GROSS_LEVERAGE * equity:
        raise BadRequest(
            f"the book cannot hold this order: gross exposure after it would be {gross:,.2f}, over "
            f"{MAX_GROSS_LEVERAGE:g} x equity {equity:,.2f}"
        )


class Publisher:
    """Stores and broadcasts external agents' messages, filling their orders (see the module docstring)."""

    def __init__(self, rounds: Rounds, ledger: Ledger, roster: Sequence[Agent], per_minute: int) -> None:
        self.rounds = rounds  # its lock, store and bus: a publish queues with the rounds
        self.ledger = ledger
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
                state = self.ledger.load_for_update(connection) or SimulationState.new()
                prices = state.prices()
                price = prices[order.symbol]
                book, _ = state.book(agent.id).filled(Fill(order.symbol, order.signed_quantity, price))
                check_exposure(book, prices)
                after = dataclasses.replace(state, books={**state.books, agent.id: book})
                self.ledger.save_fill(connection, after, agent.id, self.agent_ids, utc_now())
                meta.update(
                    symbol=order.symbol,
                    side=order.side,
                    price=price,
                    quantity=order.signed_quantity,
                    position_after=book.position(order.symbol).quantity,
                )
            return [Draft(agent.id, agent.name, request.kind, request.content, meta, request.details)]

        return write
