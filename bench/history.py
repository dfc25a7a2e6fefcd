"""The live window's reads with a month of history in the store, beside the same reads with none.

For each case a fresh store (SQLite, or PostgreSQL with `--database-url`) holds the same live
window, each agent's latest 20 messages written now; the "history" case also holds `--history`
older messages spread over the last 30 days (kept for `GET /api/chat/history`, out of the window).
A `python -m agentchat hub` is started on it, and each case times, in turns so that both see the
same machine:

- replay: a stream with `Last-Event-ID: 0` (a dashboard's first stream: a store read) from the
  request to the last replayed message;
- poll: `GET /api/chat/messages?since_id=0&limit=1000`;
- a fresh stream's `ready`;
- history: one page of `GET /api/chat/history?symbol=BTC` (only meaningful with history).

Then the hubs stop and the history store is purged to 10 days (two thirds of it): how long each of
the purge's write transactions held the store's write lock.

Medians over `--repeat` requests, and the ratio history / empty; the replays must be the same
messages in both cases.

    python bench/history.py [--history 100000] [--repeat 200] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentchat import migrate
from agentchat.agents import BUILTIN_ROSTER
from agentchat.message import utc_now
from agentchat.store import Store, create_store_engine, messages_table
from tests.kit.hubs import UNBOUNDED, HubProcess

WINDOW_PER_AGENT = 20
SYMBOLS = ("BTC", "ETH", "SOL", "SPY", "NVDA", "GLD")


def seed(database_url: str, history: int) -> None:
    """`history` messages over the last 30 days (oldest first), then each agent's latest 20 written now."""
    engine = create_store_engine(database_url)
    migrate.upgrade(engine)
    now = utc_now()
    randomness = random.Random(7)
    rows: list[dict[str, Any]] = []
    for index in range(history):
        agent = BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)]
        side = randomness.choice(("buy", "sell", None, None))
        rows.append(
            {
                "agent_id": agent.id,
                "agent_name": agent.name,
                "kind": "trade" if side else "analysis",
                "content": f"history message {index} about {SYMBOLS[index % len(SYMBOLS)]}",
                "created_at": now
                - timedelta(days=30)
                + timedelta(days=30) * (index / max(1, history))
                - timedelta(hours=1),
                "meta": {"symbol": SYMBOLS[index % len(SYMBOLS)], "side": side, "price": 100.0, "confidence": 0.5},
            }
        )
    for index in range(WINDOW_PER_AGENT * len(BUILTIN_ROSTER)):
        agent = BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)]
        rows.append(
            {
                "agent_id": agent.id,
                "agent_name": agent.name,
                "kind": "analysis",
                "content": f"live message {index}",
                "created_at": now,
                "meta": {"symbol": "BTC", "side": None, "price": 100.0, "confidence": 0.5},
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(messages_table.insert(), rows[start : start + 5000])
    if engine.dialect.name == "postgresql":
        # A table that grew over 30 days has planner statistics; one bulk-loaded a second ago has
        # none until autovacuum's next pass, and PostgreSQL would guess a sequential scan.
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE agent_chat_messages"))
    engine.dispose()


def replay_ms(url: str) -> tuple[float, int]:
    """`Last-Event-ID: 0` → the last replayed message (the stream goes quiet once the replay is out)."""
    started = time.perf_counter()
    count = 0
    with (
        httpx.Client(timeout=30) as client,
        client.stream("GET", f"{url}/api/chat/stream", headers={"Last-Event-ID": "0"}) as response,
    ):
        expected: int | None = None
        for line in response.iter_lines():
            if line.startswith("data: ") and expected is None and '"last_id"' in line:
                expected = int(line.split('"last_id":', 1)[1].split(",", 1)[0])
            elif line.startswith("id: "):
                count += 1
                if int(line[4:]) == expected:
                    return (time.perf_counter() - started) * 1000, count
    raise RuntimeError("the stream ended before its replay")


def timed(request: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = request()
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def ready_ms(url: str) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client, client.stream("GET", f"{url}/api/chat/stream") as response:
        for line in response.iter_lines():
            if line.startswith("event: ready"):
                return (time.perf_counter() - started) * 1000
    raise RuntimeError("no ready")


def purge_figures(database_url: str, history_days: float) -> tuple[int, int, float, float, float]:
    """Purge what `history_days` no longer keeps: rows, transactions, total s, median and longest ms each."""
    engine = create_store_engine(database_url)
    started: list[float] = []
    held: list[float] = []
    sa.event.listen(engine, "begin", lambda _connection: started.append(time.perf_counter()))
    sa.event.listen(engine, "commit", lambda _connection: held.append((time.perf_counter() - started[-1]) * 1000))
    store = Store(engine, 600, history_days=history_days)
    began = time.perf_counter()
    removed = store.purge()
    total = time.perf_counter() - began
    engine.dispose()
    return removed, len(held), total, statistics.median(held), max(held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url", help="a PostgreSQL server URL; a database per case is made on it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        urls = {}
        for case, count in (("empty", 0), ("history", args.history)):
            if args.database_url:
                base = sa.make_url(args.database_url)
                name = f"bench_history_{case}"
                admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
                    connection.execute(sa.text(f"CREATE DATABASE {name}"))
                admin.dispose()
                urls[case] = base.set(database=name).render_as_string(hide_password=False)
            else:
                urls[case] = f"sqlite:///{workdir}/{case}.db"
            started = time.perf_counter()
            seed(urls[case], count)
            print(
                f"{case:8} store: {count} history messages + {WINDOW_PER_AGENT * len(BUILTIN_ROSTER)} in the window,"
                f" written in {time.perf_counter() - started:.1f} s"
            )
        hubs = {
            case: HubProcess(url, Path(workdir), generate_per_minute=UNBOUNDED, access_log="false").start()
            for case, url in urls.items()
        }
        figures: dict[str, dict[str, list[float]]] = {case: {} for case in hubs}
        replayed: dict[str, int] = {}
        try:
            with httpx.Client(timeout=30) as client:
                probes: dict[str, Callable[[str], float]] = {
                    "replay (Last-Event-ID: 0)": lambda url: replay_ms(url)[0],
                    "poll (since_id=0)": lambda url: timed(
                        lambda: client.get(f"{url}/api/chat/messages", params={"since_id": 0, "limit": 1000})
                    ),
                    "fresh stream's ready": ready_ms,
                    "history page (symbol=BTC)": lambda url: timed(
                        lambda: client.get(f"{url}/api/chat/history", params={"symbol": "BTC", "limit": 100})
                    ),
                }
                for case, hub in hubs.items():
                    replayed[case] = replay_ms(hub.url)[1]  # and warm up
                for _ in range(args.repeat):
                    for name, probe in probes.items():
                        for case, hub in hubs.items():  # in turns: both cases see the same machine
                            figures[case].setdefault(name, []).append(probe(hub.url))
        finally:
            for hub in hubs.values():
                hub.stop()
        removed, transactions, total, median, longest = purge_figures(urls["history"], history_days=10)
        if args.database_url:  # the two databases this run made
            admin = sa.create_engine(
                sa.make_url(args.database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as connection:
                for case in urls:
                    connection.execute(sa.text(f"DROP DATABASE IF EXISTS bench_history_{case}"))
            admin.dispose()
    print(
        f"\npurge of the history store to 10 days: {removed} messages in {transactions} transactions,"
        f" {total:.2f} s; write transaction median {median:.1f} ms, longest {longest:.1f} ms"
    )
    print(f"\nmessages replayed: empty {replayed['empty']}, history {replayed['history']} (the same window)")
    print(f"{'median ms':28} {'empty':>9} {'history':>9} {'ratio':>7}")
    for name in figures["empty"]:
        empty, full = statistics.median(figures["empty"][name]), statistics.median(figures["history"][name])
        print(f"{name:28} {empty:9.2f} {full:9.2f} {full / empty:7.2f}")


if __name__ == "__main__":
    main()
