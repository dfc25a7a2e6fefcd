"""Store reads for resumes older than the window: identical concurrent ones are made once.

The reads are the real `read_history` on a real store (both databases); the test counts how many
of them ran, in a worker thread as the hub runs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anyio.to_thread
import pytest

from agentchat import migrate
from agentchat.hub.resume import History, SharedReads, read_history
from agentchat.message import Draft
from agentchat.store import Store, create_store_engine


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    migrate.upgrade(engine)
    store = Store(engine, retention_seconds=600)
    store.insert_round([Draft(f"agent_{n}", f"Agent {n}", "analysis", f"text {n}") for n in range(5)])
    yield store
    engine.dispose()


def counted_reads(store: Store) -> tuple[SharedReads, list[int]]:
    made: list[int] = []

    async def read(agents: frozenset[str] | None, last_event_id: int) -> History:
        made.append(last_event_id)
        return await anyio.to_thread.run_sync(read_history, store, agents, last_event_id)

    return SharedReads(read), made


def test_identical_concurrent_resumes_share_one_store_read(store: Store) -> None:
    async def scenario() -> list[tuple[History, bool]]:
        reads, made = counted_reads(store)
        answers = await asyncio.gather(*(reads.history(None, 2, 5) for _ in range(20)))
        assert made == [2]
        return answers

    answers = asyncio.run(scenario())
    assert [shared for _, shared in answers].count(False) == 1
    first = answers[0][0]
    assert all(history is first for history, _ in answers)
    assert first.count == 3 and first.covered_up_to == 5 and first.frames.count(b"\nid: ") + 1 == 3


def test_resumes_with_another_id_filter_or_publication_read_on_their_own(store: Store) -> None:
    async def scenario() -> list[int]:
        reads, made = counted_reads(store)
        await asyncio.gather(
            reads.history(None, 2, 5),
            reads.history(None, 3, 5),
            reads.history(frozenset({"agent_4"}), 2, 5),
            reads.history(None, 2, 6),  # something was published since the first read began
        )
        return made

    assert sorted(asyncio.run(scenario())) == [2, 2, 2, 3]


def test_a_finished_read_is_not_served_to_a_later_resume(store: Store) -> None:
    async def scenario() -> list[int]:
        reads, made = counted_reads(store)
        await reads.history(None, 2, 5)
        await asyncio.sleep(0)
        await reads.history(None, 2, 5)
        assert len(reads) == 0
        return made

    assert asyncio.run(scenario()) == [2, 2]
