"""POST /api/chat/generate → receipt on one SSE client: the median time, and the frame size.

Starts `python -m agentchat hub` on a fresh SQLite file on a free port, opens one SSE
stream with `HubClient`, then POSTs single-agent rounds one after another and times
each from just before the POST to the moment its message arrives on the stream.

    python bench/latency.py [--rounds 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.hub_client import HubClient
from agentchat.message import MAX_CONTENT_CHARS, MAX_FRAME_BYTES, Message
from bench.arrivals import Arrivals
from tests.kit.hubs import UNBOUNDED, HubProcess


def frame_size_of_longest_message() -> int:
    """Bytes on the wire for a message of MAX_CONTENT_CHARS characters, SSE framing and chunk header included."""
    message = Message(
        id=2_147_483_647,
        agent_id="claude_arbitrage",
        agent_name="Claude Arbitrage",
        kind="analysis",
        content="x" * MAX_CONTENT_CHARS,
        created_at=datetime.now(UTC),
        meta={
            "symbol": "EURUSD",
            "side": "sell",
            "price": 71234.56,
            "confidence": 0.72,
            "reply_to": 2_147_483_646,
            "quantity": -123456.789012,
            "position_after": -987654.321098,
        },
    )
    frame = message.sse_frame()
    return len(b"%x\r\n" % len(frame)) + len(frame) + 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        hub = HubProcess(f"sqlite:///{workdir}/bench.db", Path(workdir), generate_per_minute=UNBOUNDED).start()
        try:
            arrivals = Arrivals(hub.url)
            with HubClient(hub.url, timeout=30) as client:
                client.generate(["claude_arbitrage"])  # warm up
                arrivals.next()
                latencies, sizes = [], []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    made = client.generate(["claude_arbitrage"]).json()
                    message = made["messages"][0]
                    sizes.append(len(Message.from_dict(message).sse_frame()))
                    message_id, arrived = arrivals.next()
                    assert message_id == message["id"], "stream out of order"
                    latencies.append((arrived - started) * 1000)
            arrivals.close()
        finally:
            hub.stop()
    latencies.sort()
    print(f"rounds                          {args.rounds}")
    print(f"POST -> SSE receipt, median     {statistics.median(latencies):.2f} ms")
    print(f"POST -> SSE receipt, p90        {latencies[int(len(latencies) * 0.9) - 1]:.2f} ms")
    print(f"generated frame size, median    {statistics.median(sizes):.0f} bytes")
    print(f"500-char message on the wire    {frame_size_of_longest_message()} bytes (limit {MAX_FRAME_BYTES})")


if __name__ == "__main__":
    main()
