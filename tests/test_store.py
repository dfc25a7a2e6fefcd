"""The store on both databases: ids, reads since an id, retention, idempotency, migrations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from agentchat import migrate
from agentchat.errors import StoreUnavailable
from agentchat.message import Draft, Message, utc_now
from agentchat.store import IDEMPOTENCY_SECONDS, Store, create_store_engine, messages_table, rounds_table


def draft(agent_id: str = "claude_arbitrage", content: str = "BTC basis 0.4% over spot") -> Draft:
    return Draft(agent_id, agent_id.replace("_", " ").title(), "analysis", content, {"symbol": "BTC", "price": 1.5})


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    migrate.upgrade(engine)
    yield Store(engine, retention_seconds=600)
    engine.dispose()


def test_ids_increase_and_rows_round_trip(store: Store) -> None:
    stored, created = store.insert_round([draft(), draft("chatgpt_openai", "ETH breakout")])
    assert created
    assert stored[1].id == stored[0].id + 1
    assert store.since(0) == stored
    assert store.since(stored[0].id) == stored[1:]
    assert store.since(0)[0].meta == {"symbol": "BTC", "price": 1.5}
    assert store.since(0)[0].created_at.tzinfo is not None


def test_since_filters_by_agent_and_limits(store: Store) -> None:
    store.insert_round([draft("a"), draft("b"), draft("a"), draft("c")])
    assert [m.agent_id for m in store.since(0, ["a", "c"])] == ["a", "a", "c"]
    assert len(store.since(0, limit=2)) == 2


def test_bounds_are_the_oldest_and_newest_retained_ids(store: Store) -> None:
    assert (store.bounds().earliest_id, store.bounds().last_id) == (None, None)
    stored, _ = store.insert_round([draft(), draft(), draft()])
    assert (store.bounds().earliest_id, store.bounds().last_id) == (stored[0].id, stored[-1].id)


def ids(messages: list[Message]) -> list[int]:
    return [message.id for message in messages]


def backdate(store: Store, seconds: float, ids: list[int] | None = None) -> None:
    """Move messages back in time, as if they had been written `seconds` ago (all of them by default)."""
    update = sa.update(messages_table).values(created_at=utc_now() - timedelta(seconds=seconds))
    if ids is not None:
        update = update.where(messages_table.c.id.in_(ids))
    with store.engine.begin() as connection:
        connection.execute(update)


def test_the_window_keeps_each_agents_latest_messages_after_the_retention(database_url: str) -> None:
    engine = create_store_engine(database_url)
    migrate.upgrade(engine)
    store = Store(engine, retention_seconds=600, max_per_agent=2)
    rounds = [[m.id for m in store.insert_round([draft("a"), draft("b")])[0]] for _ in range(3)]
    backdate(store, 3600)  # an hour ago: every message is past the retention
    kept = [*rounds[1], *rounds[2]]
    assert ids(store.since(0)) == ids(store.all_since(0)) == kept
    assert ids(store.since(0, ["b"])) == [rounds[1][1], rounds[2][1]]
    assert ids(store.since(rounds[2][0])) == [rounds[2][1]]
    bounds = store.bounds()
    assert (bounds.earliest_id, bounds.last_id, bounds.missed_below) == (kept[0], kept[-1], rounds[0][1])
    assert bounds.gap(0) and bounds.gap(rounds[0][0])  # round 1 is no longer in the window
    assert not bounds.gap(rounds[0][1]) and not bounds.gap(kept[-1])
    recent = [store.insert_round([draft("a")])[0][0].id for _ in range(3)]  # within the retention: all of them
    assert ids(store.since(0)) == [rounds[1][1], rounds[2][1], *recent]
    assert ids(store.since(0, limit=2)) == [rounds[1][1], rounds[2][1]]
    engine.dispose()


def test_purge_deletes_what_history_no_longer_keeps_in_batches_never_an_agents_latest(database_url: str) -> None:
    engine = create_store_engine(database_url)
    migrate.upgrade(engine)
    store = Store(engine, retention_seconds=600, max_per_agent=1, history_days=30)
    old = [message.id for message in store.insert_round([draft("a"), draft("b")] * 4)[0]]
    newer = store.insert_round([draft("a")])[0]
    backdate(store, 31 * 86400, old)
    backdate(store, 20 * 86400, [newer[0].id])
    assert store.purge(batch=2) == 7  # every old one but b's latest, in four batches
    assert store.purge() == 0
    assert ids(store.latest(10)) == [old[-1], newer[0].id]
    assert ids(store.since(0)) == ids(store.latest(10))
    engine.dispose()


def test_idempotency_key_returns_the_first_round(store: Store) -> None:
    first, created = store.insert_round([draft(), draft()], idempotency_key="k1")
    again, created_again = store.insert_round([draft()], idempotency_key="k1")
    assert created and not created_again
    assert again == first
    assert store.find_round("k1") == first
    assert len(store.since(0)) == 2


def test_idempotency_keys_are_forgotten_after_a_day(store: Store) -> None:
    store.insert_round([draft()], idempotency_key="old")
    store.insert_round([draft()], idempotency_key="new")
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(rounds_table)
            .where(rounds_table.c.idempotency_key == "old")
            .values(created_at=utc_now() - timedelta(seconds=IDEMPOTENCY_SECONDS + 1))
        )
    store.purge()
    assert store.find_round("old") is None
    assert store.find_round("new") is not None


def test_ids_are_not_reused_after_a_purge(store: Store) -> None:
    stored, _ = store.insert_round([draft()])
    with store.engine.begin() as connection:
        connection.execute(sa.delete(messages_table))
    newer, _ = store.insert_round([draft()])
    assert newer[0].id > stored[0].id


def test_unreachable_database_raises_store_unavailable() -> None:
    engine = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", timeout_seconds=1)
    with pytest.raises(StoreUnavailable, match="database unavailable"):
        Store(engine, 600).since(0)
    engine.dispose()
