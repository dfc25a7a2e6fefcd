"""POST on hub A → receipt on an SSE client of hub B: p50 and p99, through PostgreSQL LISTEN/NOTIFY.

Creates a fresh database on the local PostgreSQL, starts two `python -m agentchat hub`
processes on it (free ports), opens one SSE stream on each hub with `HubClient`, then
POSTs single-agent rounds to hub A one after another and times each from just before
the POST to the moment its message arrives on hub B's stream (and, for comparison, on
hub A's own stream, which also gets it back through LISTEN). The database is dropped
at the end.

    python bench/crosshub.py [--rounds 300] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.hub_client import HubClient
from bench.arrivals import Arrivals
from tests.kit.hubs import UNBOUNDED, HubProcess

DEFAULT_ADMIN_URL = os.environ.get(
    "AGENTCHAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def arrival_of(arrivals: Arrivals, expected_id: int) -> float:
    """When the message `expected_id` arrived: the next one on the stream, or the stream is out of order."""
    message_id, arrived = arrivals.next()
    assert message_id == expected_id, f"stream out of order: got {message_id}, expected {expected_id}"
    return arrived


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def measure(hub_a: HubProcess, hub_b: HubProcess, rounds: int) -> tuple[list[float], list[float]]:
    on_a, on_b = Arrivals(hub_a.url), Arrivals(hub_b.url)
    try:
        with HubClient(hub_a.url, timeout=30) as client:
            agents = ["claude_arbitrage"]
            for _ in range(5):  # warm up connections and code paths
                made_id = client.generate(agents).json()["messages"][0]["id"]
                arrival_of(on_a, made_id)
                arrival_of(on_b, made_id)
            same_hub, cross_hub = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                made_id = client.generate(agents).json()["messages"][0]["id"]
                cross_hub.append((arrival_of(on_b, made_id) - started) * 1000)
                same_hub.append((arrival_of(on_a, made_id) - started) * 1000)
    finally:
        on_a.close()
        on_b.close()
    return sorted(same_hub), sorted(cross_hub)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="a PostgreSQL URL allowed to CREATE DATABASE")
    args = parser.parse_args()
    name = f"agentchat_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database_url = sa.make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            hub_a = HubProcess(database_url, Path(workdir), generate_per_minute=UNBOUNDED).start()
            hub_b = HubProcess(database_url, Path(workdir), generate_per_minute=UNBOUNDED).start()
            try:
                same_hub, cross_hub = measure(hub_a, hub_b, args.rounds)
            finally:
                hub_a.stop()
                hub_b.stop()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"rounds (one message each)         {args.rounds}")
    print(f"POST on A -> SSE on B, p50        {statistics.median(cross_hub):.2f} ms")
    print(f"POST on A -> SSE on B, p99        {percentile(cross_hub, 0.99):.2f} ms")
    print(f"POST on A -> SSE on A, p50        {statistics.median(same_hub):.2f} ms")
    print(f"POST on A -> SSE on A, p99        {percentile(same_hub, 0.99):.2f} ms")


if __name__ == "__main__":
    main()
