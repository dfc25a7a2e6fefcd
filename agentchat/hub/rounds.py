"""The write path: one round of messages, from an accepted request to every stream.

`POST /api/chat/generate` comes here once the route has checked the token and read the
body; this is where the product's rule lives, *persist, then publish*:

1. An `Idempotency-Key` already answered returns the first answer; nothing is generated. The
   key is remembered with a digest of the request (`request_hash`: the agents asked for), and
   the same key with another request is refused (422), as the IETF idempotency-key draft says.
2. The shared market (`market/round.py`) prepares the round's writer from the recent messages
   (`RecentMessages`, kept from the bus); with an LLM, the model phrases the round here.
3. Under the hub's round lock the store runs the round in one transaction: the writer reads the
   simulation's state, decides the round and writes the new state and books back, then the
   messages are inserted and the bus's `before_commit` runs inside it (a PostgreSQL bus sends
   NOTIFY there, so only committed messages are announced), and after the commit the bus
   publishes. The lock makes publish order equal commit order on this hub; the store's advisory
   lock does the same across hubs, and orders the rounds of the one market.
   A key that another request committed first comes back as that request's answer.

A message that reaches a stream is therefore always stored; a failed insert
(`StoreUnavailable`) publishes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread

from agentchat.agents import Agent
from agentchat.bus import Bus
from agentchat.hub.ratelimit import SlidingWindowLimit
from agentchat.market.round import SharedMarket
from agentchat.message import Message, utc_now
from agentchat.store import Store

__all__ = ["RECENT_FOR_REPLIES", "RecentMessages", "Round", "Rounds", "request_hash"]

RECENT_FOR_REPLIES = 30


def request_hash(agents: Sequence[Agent]) -> str:
    """What a round was asked for, as a digest: the same agents give the same hash, however the body was written."""
    return hashlib.sha256("\n".join(sorted(agent.id for agent in agents)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Round:
    """The messages of one round, and whether they are an earlier answer to the same key."""

    messages: list[Message]
    replayed: bool


class RecentMessages:
    """The latest retained messages, which agents may answer: loaded at start, then fed by the bus."""

    def __init__(self, retention_seconds: float, size: int = RECENT_FOR_REPLIES) -> None:
        self.retention = timedelta(seconds=retention_seconds)
        self._messages: deque[Message] = deque(maxlen=size)

    def remember(self, messages: Sequence[Message]) -> None:
        """Bus listener (the bus hands each id once, in id order)."""
        self._messages.extend(messages)

    def retained(self) -> list[Message]:
        """Oldest first, without any the retention has expired since they arrived."""
        oldest = utc_now() - self.retention
        return [message for message in self._messages if message.created_at >= oldest]


class Rounds:
    """Makes rounds for the hub: idempotency, generation, insert with the bus hook, publish."""

    def __init__(
        self, store: Store, bus: Bus, market: SharedMarket, recent: RecentMessages, limit: SlidingWindowLimit
    ) -> None:
        self.store = store
        self.limit = limit  # AGENTCHAT_GENERATE_PER_MINUTE: a replay of a known key does not count
        self.bus = bus
        self.market = market
        self.recent = recent
        self.lock = asyncio.Lock()  # publish in commit order

    async def make(self, agents: Sequence[Agent], idempotency_key: str | None = None) -> Round:
        """One round for `agents`, or the first answer to `idempotency_key` (see the module docstring)."""
        body_hash = request_hash(agents)
        if idempotency_key is not None:
            earlier = await anyio.to_thread.run_sync(self.store.find_round, idempotency_key, body_hash)
            if earlier is not None:
                return Round(earlier, replayed=True)
        self.limit.acquire("rounds")  # past the limit: RateLimited, 429 with Retry-After
        write_round = await self.market.prepare(agents, self.recent.retained())  # runs in the insert's transaction
        async with self.lock:
            messages, created = await anyio.to_thread.run_sync(
                self.store.insert_round, write_round, idempotency_key, self.bus.before_commit, body_hash
            )
            if created:
                await self.bus.publish(messages)
        return Round(messages, replayed=not created)
