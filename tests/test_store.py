"""The store on both databases: ids, reads since an id, retention, idempotency, migrations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from agentchat import migrate
from agentchat.errors import StoreUnavailable
from agentchat.message import Draft, utc_now
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


def test_expired_rows_are_not_served_and_purge_deletes_them(store: Store) -> None:
    stored, _ = store.insert_round([draft(), draft()])
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(messages_table)
            .where(messages_table.c.id == stored[0].id)
            .values(created_at=utc_now() - timedelta(seconds=601))
        )
    assert store.since(0) == stored[1:]
    assert store.purge() == 1
    assert store.purge() == 0
    assert store.latest(10) == stored[1:]


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
