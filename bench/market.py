"""The shared market over many rounds: each agent's equity, trades and win rate, and what a round costs.

Starts `python -m agentchat hub` on a fresh SQLite file (or `--database-url`, e.g. the local
PostgreSQL) on a free port, POSTs `--rounds` full rounds one after another (each reads, advances
and writes the simulation inside the insert's transaction), then prints the Leaderboard as
`GET /api/agents/performance` reports it, checks it against a replay of every trade message, and
prints the POST time per round. The hub's retention is set above the run's length, so every trade
message is still there to replay.

    python bench/market.py [--rounds 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.market.books import Book
from tests.kit.hubs import HubProcess
from tests.kit.market_replay import book_entry, fill_from_meta


def replayed_equity(messages: list[dict[str, Any]], prices: dict[str, float]) -> dict[str, float]:
    books: dict[str, Book] = {}
    for message in messages:
        fill = fill_from_meta(message["meta"])
        if fill is not None:
            books[message["agent_id"]], _ = books.get(message["agent_id"], Book()).filled(fill)
    return {agent_id: book_entry(agent_id, book, prices)["equity"] for agent_id, book in books.items()}


def all_messages(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    since_id = 0
    while True:
        page = client.get("/api/chat/messages", params={"since_id": since_id, "limit": 1000}).json()
        found.extend(page["messages"])
        if len(page["messages"]) < 1000:
            return found
        since_id = page["last_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{workdir}/bench.db"
        hub = HubProcess(url, Path(workdir), retention_seconds=86_400, access_log="false").start()
        try:
            with httpx.Client(base_url=hub.url, timeout=30) as client:
                seconds = []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    response = client.post("/api/chat/generate")
                    seconds.append(time.perf_counter() - started)
                    response.raise_for_status()
                books = client.get("/api/agents/performance").json()
                replayed = replayed_equity(all_messages(client), books["prices"])
        finally:
            hub.stop()
    print(f"after {books['round']} rounds ({url.split(':')[0]}), start equity {books['start_equity']:,.0f} each\n")
    print(f"{'#':>2}  {'agent':<18} {'equity':>12} {'return':>8} {'trades':>6} {'win rate':>12} {'max dd':>7}")
    for rank, entry in enumerate(books["agents"], start=1):
        win = entry["win_rate"]
        win_text = f"{win:.0%} of {entry['closed_trades']}" if win is not None else "-"
        print(
            f"{rank:>2}  {entry['agent_id']:<18} {entry['equity']:>12,.2f} {entry['return_pct']:>+7.2f}%"
            f" {entry['trades']:>6} {win_text:>12} {entry['max_drawdown_pct']:>6.2f}%"
        )
    same = all(replayed.get(e["agent_id"], books["start_equity"]) == e["equity"] for e in books["agents"])
    print(f"\nbooks replayed from every trade message equal the API's: {'yes' if same else 'NO'}")
    ms = sorted(1000 * second for second in seconds)
    p99 = ms[int(0.99 * (len(ms) - 1))]
    print(f"POST /api/chat/generate per round: median {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
