"""The bus's one promise to its listeners: each committed id once, in id order.

It is kept in `Bus._deliver`, where every backend delivers, so the fan-out and the recent
messages check nothing themselves. The in-process bus is used as it is; the PostgreSQL
bus, whose back-fill after a reconnect is where repeats come from, is exercised against
a real database in `test_postgres_bus.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from agentchat.bus import MemoryBus
from agentchat.message import Message


def batch(*ids: int) -> list[Message]:
    return [Message(i, "claude_arbitrage", "Claude Arbitrage", "trade", f"m{i}", datetime.now(UTC)) for i in ids]


def test_listeners_get_each_id_once_in_order_when_a_batch_repeats_ids_already_delivered() -> None:
    bus = MemoryBus()
    seen: list[list[int]] = []

    def listener(messages: Sequence[Message]) -> None:
        seen.append([message.id for message in messages])

    async def publish_all() -> None:
        for ids in [(1, 2), (2, 3, 4), (1,), (4,), (5,)]:
            await bus.publish(batch(*ids))

    with bus.subscribe(listener):
        asyncio.run(publish_all())
    assert seen == [[1, 2], [3, 4], [5]]  # the repeats are gone, and no listener sees an empty batch
    assert bus.last_delivered_id == 5


def test_every_listener_gets_the_same_batches_and_an_unsubscribed_one_none() -> None:
    bus = MemoryBus()
    first: list[int] = []
    second: list[int] = []
    with bus.subscribe(lambda messages: first.extend(m.id for m in messages)):
        with bus.subscribe(lambda messages: second.extend(m.id for m in messages)):
            asyncio.run(bus.publish(batch(1, 2)))
        asyncio.run(bus.publish(batch(3)))
    assert first == [1, 2, 3]
    assert second == [1, 2]
