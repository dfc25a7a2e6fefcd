"""Hub restart → a `RealtimeAgentMessages` feed back in `realtime`: how long, with the default settings.

Starts `python -m agentchat hub` on a fresh SQLite file, opens one feed with the library's
defaults (server `retry: 3000`, backoff capped at 10 s, ±20 % jitter), then restarts the hub on
the same port a few times, by SIGTERM and by SIGKILL. For each restart it prints the time from
the feed losing the stream to the hub answering /healthz again, and to the feed being `realtime`
again, and checks that a message generated while the hub was down arrives exactly once.

    python bench/reconnect.py [--restarts 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat import RealtimeAgentMessages
from agentchat.hub_client import HubClient
from tests.kit.hubs import HubProcess


def wait_for_state(feed: RealtimeAgentMessages, wanted: set[str], timeout: float = 60.0) -> float:
    """Block until the feed's state is one of `wanted`; return time.monotonic() at that moment."""
    deadline = time.monotonic() + timeout
    snapshot = feed.snapshot()
    while snapshot.state not in wanted:
        if time.monotonic() > deadline:
            raise SystemExit(f"feed stuck in {snapshot.state}: {snapshot.diagnostics.last_error}")
        feed.wait_for_change(snapshot.version, timeout=deadline - time.monotonic())
        snapshot = feed.snapshot()
    return time.monotonic()


def wait_healthy(url: str, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    with HubClient(url, timeout=1) as hub:
        while time.monotonic() < deadline:
            try:
                if hub.health().status_code == 200:
                    return time.monotonic()
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
    raise SystemExit("hub did not come back")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=5, help="restarts per signal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        database = f"sqlite:///{workdir}/bench.db"
        hub = HubProcess(database, Path(workdir)).start()
        feed = RealtimeAgentMessages(hub.url, max_per_agent=1000)
        try:
            wait_for_state(feed, {"realtime"})
            results: dict[str, list[tuple[float, float]]] = {"SIGTERM": [], "SIGKILL": []}
            expected = 0
            for signal_name in ("SIGTERM", "SIGKILL"):
                for _ in range(args.restarts):
                    expected += len(hub.generate().json()["messages"])
                    hub.terminate() if signal_name == "SIGTERM" else hub.kill()
                    lost_at = wait_for_state(feed, {"connecting", "polling", "error"})
                    stand_in = HubProcess(database, Path(workdir)).start()  # a message published while it was away
                    expected += len(stand_in.generate().json()["messages"])
                    stand_in.terminate()
                    hub = HubProcess(database, Path(workdir), port=hub.port).start(wait=False)
                    healthy_at = wait_healthy(hub.url)
                    realtime_at = wait_for_state(feed, {"realtime"})
                    deadline = time.monotonic() + 10
                    while len(feed.messages) < expected and time.monotonic() < deadline:
                        time.sleep(0.01)
                    ids = [message["id"] for message in feed.messages]
                    assert len(ids) == len(set(ids)) == expected, (len(ids), len(set(ids)), expected)
                    results[signal_name].append((healthy_at - lost_at, realtime_at - healthy_at))
                    print(
                        f"{signal_name}: hub healthy {healthy_at - lost_at:5.2f} s after the stream dropped,"
                        f" feed realtime {realtime_at - healthy_at:5.2f} s later"
                        f" ({realtime_at - lost_at:5.2f} s in all)"
                    )
            print()
            for signal_name, rows in results.items():
                after_healthy = [row[1] for row in rows]
                in_all = [row[0] + row[1] for row in rows]
                print(
                    f"{signal_name} x{len(rows)}: realtime after the hub is healthy: median"
                    f" {statistics.median(after_healthy):.2f} s, max {max(after_healthy):.2f} s;"
                    f" drop to realtime: median {statistics.median(in_all):.2f} s, max {max(in_all):.2f} s"
                )
            print(f"every message held exactly once ({expected} messages)")
        finally:
            feed.close()
            hub.stop()


if __name__ == "__main__":
    main()
