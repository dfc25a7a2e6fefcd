"""Several hubs on one PostgreSQL: LISTEN/NOTIFY fan-out, ids in commit order, surviving outages.

Every hub here is a real `python -m agentchat hub` process on a fresh database of the local
PostgreSQL. Outages are made for real too: the listener's backend is terminated with
`pg_terminate_backend`, and a database is made unreachable with `ALLOW_CONNECTIONS false`
(the server itself is never restarted: other tests use it).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from agentchat.agents import BUILTIN_ROSTER, STRATEGIES
from agentchat.bus.postgres import INLINE_LIMIT_BYTES, notification_payload
from agentchat.message import Message
from agentchat.transport import shared_tls
from tests.kit import web
from tests.kit.hubs import InProcessHub
from tests.kit.sse import SseReader
from tests.kit.waits import wait_until

ROSTER_SIZE = len(BUILTIN_ROSTER)
StartHub = Callable[..., InProcessHub]


class Database:
    """Admin actions on the test database, from a connection to the `postgres` database."""

    def __init__(self, url: str) -> None:
        self.name = sa.make_url(url).database
        self.admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def _run(self, sql: str) -> list[sa.Row[Any]]:
        with self.admin.connect() as connection:
            result = connection.execute(sa.text(sql), {"name": self.name})
            return list(result) if result.returns_rows else []

    def listener_pids(self) -> list[int]:
        rows = self._run("SELECT pid FROM pg_stat_activity WHERE datname = :name AND query LIKE 'LISTEN%'")
        return [int(row[0]) for row in rows]

    def terminate(self, pids: list[int]) -> None:
        for pid in pids:
            self._run(f"SELECT pg_terminate_backend({int(pid)})")

    def terminate_all(self) -> None:
        self._run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name")

    def allow_connections(self, allowed: bool) -> None:
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    database.allow_connections(True)  # so that the fixture can drop it
    database.admin.dispose()


def ids(messages: list[dict[str, Any]]) -> list[int]:
    return [int(message["id"]) for message in messages]


def marker(hub: InProcessHub) -> int:
    """The id of a one-message round generated now: on every stream it comes after everything made before it."""
    return int(hub.generate(["claude_arbitrage"]).json()["messages"][0]["id"])


def message_ids(reader: SseReader, before: int) -> list[int]:
    """Ids of every message that arrives ahead of the marker `before` (the marker itself left out)."""
    return [int(event.id or 0) for event in reader.until_message(before) if event.event == "message"]


def bus_status(hub: InProcessHub) -> str:
    return str(web.get(f"{hub.url}/healthz", timeout=10).json()["bus"])


@pytest.mark.postgres
def test_a_message_generated_through_one_hub_reaches_streams_on_every_hub(
    start_hub: StartHub, postgres_url: str
) -> None:
    hub_a = start_hub(database_url=postgres_url)
    hub_b = start_hub(database_url=postgres_url)
    on_a = SseReader(f"{hub_a.url}/api/chat/stream").start()
    on_b = SseReader(f"{hub_b.url}/api/chat/stream").start()
    on_a.next("ready")
    on_b.next("ready")
    made = hub_a.generate().json()["messages"]
    assert len(made) == ROSTER_SIZE
    assert on_b.messages(ROSTER_SIZE) == made
    assert on_a.messages(ROSTER_SIZE) == made
    end = marker(hub_a)
    assert message_ids(on_b, end) == [] and message_ids(on_a, end) == []  # each once
    assert web.get(f"{hub_b.url}/healthz", timeout=10).json()["bus"] == "ok"
    on_a.close()
    on_b.close()


@pytest.mark.postgres
def test_last_event_id_replay_works_across_hubs(start_hub: StartHub, postgres_url: str) -> None:
    hub_a = start_hub(database_url=postgres_url)
    hub_b = start_hub(database_url=postgres_url)
    first = hub_a.generate().json()["messages"]
    second = hub_a.generate().json()["messages"]
    resumed = SseReader(f"{hub_b.url}/api/chat/stream", headers={"Last-Event-ID": str(first[-1]["id"])}).start()
    assert resumed.next("ready").data["last_id"] == second[-1]["id"]
    assert resumed.messages(ROSTER_SIZE) == second
    third = hub_a.generate().json()["messages"]
    assert resumed.messages(ROSTER_SIZE) == third  # and then live, without a gap or a repeat
    assert message_ids(resumed, marker(hub_a)) == []
    resumed.close()


@pytest.mark.postgres
def test_a_round_too_big_for_one_notification_still_reaches_the_other_hub(
    start_hub: StartHub, postgres_url: str, tmp_path: Path
) -> None:
    roster = tmp_path / "agents.toml"
    roster.write_text(
        "".join(
            f'[[agents]]\nid = "agent_{i}"\nname = "Agent {i}"\ncolor = "#A0826D"\n'
            f'strategy = "{STRATEGIES[i % len(STRATEGIES)]}"\n'
            for i in range(40)
        )
    )
    hub_a = start_hub(database_url=postgres_url, agents_file=roster)
    hub_b = start_hub(database_url=postgres_url, agents_file=roster)
    on_b = SseReader(f"{hub_b.url}/api/chat/stream").start()
    on_b.next("ready")
    response = hub_a.generate()
    assert response.status_code == 201
    made = response.json()["messages"]
    assert len(response.content) > 8000  # so the notification carried ids only
    assert on_b.messages(len(made)) == made
    on_b.close()


def test_notification_payload_inlines_a_round_and_falls_back_to_ids_under_the_limit() -> None:
    def message(message_id: int, length: int) -> Message:
        return Message(message_id, "claude_arbitrage", "Claude Arbitrage", "trade", "é" * length, datetime.now(UTC))

    small = [message(i, 400) for i in range(1, 7)]
    assert '"messages"' in notification_payload(small)
    big = [message(i, 500) for i in range(1, 200)]
    payload = notification_payload(big)
    assert payload.startswith('{"ids":[1,2,3')
    assert len(notification_payload(small).encode()) <= INLINE_LIMIT_BYTES < 8000


@pytest.mark.postgres
def test_concurrent_generates_through_two_hubs_give_gap_free_ids_in_commit_order_everywhere(
    start_hub: StartHub, postgres_url: str
) -> None:
    hubs = [start_hub(database_url=postgres_url), start_hub(database_url=postgres_url)]
    readers = [SseReader(f"{hub.url}/api/chat/stream").start() for hub in hubs]
    for reader in readers:
        reader.next("ready")
    stop_polling = threading.Event()
    polled: list[list[int]] = [[], []]

    def poll(hub: InProcessHub, seen: list[int]) -> None:
        """A fallback client: always asks for what comes after the last id it saw."""
        with httpx.Client(base_url=hub.url, timeout=10, verify=shared_tls()) as client:
            while True:
                finished = stop_polling.is_set()
                page = client.get("/api/chat/messages", params={"since_id": seen[-1] if seen else 0, "limit": 1000})
                seen.extend(ids(page.json()["messages"]))
                if finished:
                    return

    created: list[int] = []
    failures: list[str] = []

    def generate(worker: int) -> None:
        chooser = random.Random(worker)
        for _ in range(6):
            hub = hubs[chooser.randrange(2)]
            agents = chooser.sample([agent.id for agent in BUILTIN_ROSTER], chooser.randint(1, 3))
            response = hub.generate(agents)
            if response.status_code != 201:
                failures.append(response.text)
                continue
            created.extend(ids(response.json()["messages"]))

    pollers = [threading.Thread(target=poll, args=(hub, seen)) for hub, seen in zip(hubs, polled, strict=True)]
    workers = [threading.Thread(target=generate, args=(worker,)) for worker in range(8)]
    for thread in pollers + workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    stop_polling.set()
    for thread in pollers:
        thread.join(30)

    assert failures == []
    everything = sorted(created)
    assert everything == list(range(1, len(everything) + 1))  # no id skipped, none reused
    end = marker(hubs[0])
    for reader in readers:
        assert message_ids(reader, end) == everything  # live: strictly increasing, gap-free, once each
        reader.close()
    assert polled == [everything, everything]  # no poller ever saw an id before a smaller one
    for hub in hubs:
        replay = SseReader(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": "0"}).start()
        assert message_ids(replay, end) == everything
        replay.close()


@pytest.mark.postgres
def test_messages_generated_while_the_listener_is_killed_reach_clients_once_it_is_back(
    start_hub: StartHub, postgres_url: str, database: Database
) -> None:
    hub = start_hub(database_url=postgres_url)
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    reader.next("ready")
    before = hub.generate().json()["messages"]
    assert reader.messages(ROSTER_SIZE) == before
    listeners = database.listener_pids()
    assert len(listeners) == 1
    database.allow_connections(False)  # keeps the listener out; the hub's pooled connections stay
    database.terminate(listeners)
    wait_until(lambda: bus_status(hub).startswith("reconnecting"))
    response = hub.generate()
    assert response.status_code == 201
    meanwhile = response.json()["messages"]
    # Nothing can arrive while the listener is away: the fan-out has been handed no message since `before`.
    assert hub.metric("agentchat_messages_published_total") == ROSTER_SIZE
    assert [event for event in list(reader.events.queue) if event.event == "message"] == []
    database.allow_connections(True)
    assert reader.messages(ROSTER_SIZE) == meanwhile  # back-filled from the store
    wait_until(lambda: bus_status(hub) == "ok")
    after = hub.generate().json()["messages"]
    assert reader.messages(ROSTER_SIZE) == after
    assert message_ids(reader, marker(hub)) == []
    assert ids(after)[0] == ids(meanwhile)[-1] + 1 == ids(before)[-1] + ROSTER_SIZE + 1
    assert len(database.listener_pids()) == 1
    reader.close()


@pytest.mark.postgres
def test_an_unreachable_database_gives_503s_then_recovers_without_losing_or_repeating_a_message(
    start_hub: StartHub, postgres_url: str, database: Database
) -> None:
    hub = start_hub(database_url=postgres_url, heartbeat_seconds=0.5, db_timeout_seconds=2)
    other = start_hub(database_url=postgres_url)
    reader = SseReader(f"{hub.url}/api/chat/stream").start()
    reader.next("ready")
    before = hub.generate().json()["messages"]
    assert reader.messages(ROSTER_SIZE) == before

    database.allow_connections(False)
    database.terminate_all()
    response = hub.generate()
    assert response.status_code == 503 and response.json()["error"] == "store_unavailable"
    health = web.get(f"{hub.url}/healthz", timeout=10)
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    wait_until(lambda: bus_status(hub).startswith("reconnecting"))
    # Ahead of this hub's window (an id from elsewhere): only the store could answer it, so: come back later.
    resume = {"Last-Event-ID": str(before[-1]["id"] + 1)}
    refused = web.get(f"{hub.url}/api/chat/stream", headers=resume, timeout=10)
    assert refused.status_code == 200 and "event: unavailable" in refused.text
    assert re.search(r"^retry: \d+$", refused.text, re.MULTILINE)
    assert reader.next("heartbeat", timeout=20).event == "heartbeat"  # the live stream stays up

    database.allow_connections(True)
    response = other.generate()  # most likely before the listener of `hub` is back
    assert response.status_code == 201
    meanwhile = response.json()["messages"]
    wait_until(lambda: web.get(f"{hub.url}/healthz", timeout=10).json()["status"] == "ok")
    after = hub.generate().json()["messages"]
    assert message_ids(reader, marker(hub)) == ids(meanwhile) + ids(after)  # every one, once, in order
    reader.close()


@pytest.mark.postgres
def test_a_stream_resumed_while_the_listener_is_away_gets_each_message_once(
    start_hub: StartHub, postgres_url: str, database: Database
) -> None:
    hub = start_hub(database_url=postgres_url)
    before = hub.generate().json()["messages"]
    database.allow_connections(False)
    database.terminate(database.listener_pids())
    wait_until(lambda: bus_status(hub).startswith("reconnecting"))
    meanwhile = hub.generate().json()["messages"]
    resumed = SseReader(f"{hub.url}/api/chat/stream", headers={"Last-Event-ID": str(before[-1]["id"])}).start()
    assert resumed.messages(ROSTER_SIZE) == meanwhile  # replayed from the store
    database.allow_connections(True)
    wait_until(lambda: bus_status(hub) == "ok")
    after = hub.generate().json()["messages"]
    assert message_ids(resumed, marker(hub)) == ids(after)  # the back-fill must not send `meanwhile` again
    resumed.close()
