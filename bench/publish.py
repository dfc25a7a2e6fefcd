"""The publish path beside generate's: POST → receipt on one SSE stream, p50/p99, in one run.

Starts `python -m agentchat hub` on a fresh store (SQLite unless `--database-url`) with the built-in
agents and one external agent, opens one SSE stream, then, in turn, times three writes from just
before the POST to the moment the message is on the stream:

- `generate`: `POST /api/chat/generate` for one simulated agent (a round: the market moves a bar);
- `publish`: `POST /api/chat/messages` by the external agent, a message without an order;
- `publish+order`: the same with an order filled at the market's price (the book is written too).

They alternate, so the machine's noise falls on all three alike.

    python bench/publish.py [--rounds 200] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.arrivals import Arrivals
from tests.kit.hubs import UNBOUNDED, HubProcess
from tests.kit.roster import TOKENS, roster_file


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="writes of each kind")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        directory = Path(workdir)
        url = args.database_url or f"sqlite:///{workdir}/bench.db"
        hub = HubProcess(
            url,
            directory,
            agents_file=roster_file(directory),
            generate_per_minute=UNBOUNDED,
            publish_per_minute=UNBOUNDED,
        ).start()
        arrivals = Arrivals(hub.url)
        headers = {"Authorization": f"Bearer {TOKENS['alpha']}"}
        client = httpx.Client(base_url=hub.url, timeout=30)
        side = ["buy", "sell"]

        def generate() -> int:
            return int(
                client.post("/api/chat/generate", json={"agents": ["claude_arbitrage"]}).json()["messages"][0]["id"]
            )

        def publish() -> int:
            body = {"agent_id": "alpha", "kind": "analysis", "content": "watching SOL into the close"}
            return int(client.post("/api/chat/messages", json=body, headers=headers).json()["message"]["id"])

        def publish_order() -> int:
            side.reverse()  # buy, sell, buy...: the book stays small
            order = {"symbol": "SOL", "side": side[0], "quantity": 10}
            body = {"agent_id": "alpha", "kind": "trade", "content": f"{side[0]} 10 SOL", "order": order}
            return int(client.post("/api/chat/messages", json=body, headers=headers).json()["message"]["id"])

        writes: dict[str, Callable[[], int]] = {
            "generate": generate,
            "publish": publish,
            "publish+order": publish_order,
        }
        timings: dict[str, list[float]] = {name: [] for name in writes}
        answered: dict[str, list[float]] = {name: [] for name in writes}
        try:
            for write in writes.values():  # warm up
                write()
                arrivals.next()
            for _ in range(args.rounds):
                for name, write in writes.items():
                    started = time.perf_counter()
                    message_id = write()
                    answered[name].append((time.perf_counter() - started) * 1000)
                    seen, arrived = arrivals.next()
                    assert seen == message_id, "stream out of order"
                    timings[name].append((arrived - started) * 1000)
        finally:
            client.close()
            arrivals.close()
            hub.stop()
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.rounds} writes of each kind, alternating, one SSE stream, {store}")
    print(f"{'write':<15}{'POST->SSE p50':>15}{'p99':>10}{'answer p50':>13}{'p99':>10}   (ms)")
    for name in writes:
        got, answer = timings[name], answered[name]
        print(
            f"{name:<15}{percentile(got, 0.5):>15.2f}{percentile(got, 0.99):>10.2f}"
            f"{percentile(answer, 0.5):>13.2f}{percentile(answer, 0.99):>10.2f}"
        )


if __name__ == "__main__":
    main()
