"""Streams through faults: every message delivered once to every stream, whatever breaks.

Starts `python -m agentchat hub` on a fresh SQLite file and opens `--streams` SSE readers
(asyncio sockets that reconnect as an EventSource does: after `retry:`, with `Last-Event-ID`).
Then, in turn: kill -9 the hub and start it again on the same port; take the database file
away for a few seconds (resumes meanwhile get `event: unavailable`); cut every client's
connection. Rounds are generated before, during (those that the hub refuses are not expected)
and after each fault. Prints, per fault, messages delivered / expected over all streams, and
duplicates. Loopback only; every phase is bounded in time.

    python bench/chaos.py [--streams 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import HubProcess

RETRY_FLOOR = 0.5  # seconds; the hub's retry: hint is 3 s, a test of many faults waits less


class Reader:
    """One SSE stream that keeps coming back; records every message id it sees."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[int] = []
        self.last_id: int | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.unavailable = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                await self._one_stream()
            await asyncio.sleep(RETRY_FLOOR)

    async def _one_stream(self) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id is not None else ""
        self.writer.write(f"GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n{resume}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ValueError(head[:40])
        event_id, data, kind = None, None, "message"
        try:
            while line := await reader.readline():
                text = line.decode().rstrip("\r\n")
                if text.startswith("id: "):
                    event_id = int(text[4:])
                elif text.startswith("data: "):
                    data = text[6:]
                elif text.startswith("event: "):
                    kind = text[7:]
                elif text == "" and data is not None:
                    if kind == "message" and event_id is not None:
                        self.seen.append(json.loads(data)["id"])
                        self.last_id = event_id
                    elif kind == "unavailable":
                        self.unavailable += 1
                    event_id, data, kind = None, None, "message"
        finally:
            self.writer.close()

    def cut(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()


def generate(url: str, rounds: int) -> list[int]:
    made: list[int] = []
    for _ in range(rounds):
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.post(f"{url}/api/chat/generate", json={"agents": ["claude_arbitrage"]}, timeout=10)
            if response.status_code == 201:
                made.extend(message["id"] for message in response.json()["messages"])
    return made


async def settle(readers: list[Reader], expected: list[int], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    wanted = set(expected)
    while time.monotonic() < deadline and not all(wanted <= set(reader.seen) for reader in readers):
        await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="agentchat-chaos-"))
    database = workdir / "chaos.db"
    hub = HubProcess(f"sqlite:///{database}", workdir, access_log="false", max_streams=args.streams + 50).start()
    readers = [Reader(hub.port) for _ in range(args.streams)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(reader.run(stop)) for reader in readers]
    loop = asyncio.get_running_loop()
    results: list[tuple[str, int, int, int, int]] = []

    async def phase(name: str, fault: Coroutine[None, None, None]) -> None:
        marks = [len(reader.seen) for reader in readers]
        unavailable_before = sum(reader.unavailable for reader in readers)
        expected = await loop.run_in_executor(None, generate, hub.url, 3)
        await fault
        expected += await loop.run_in_executor(None, generate, hub.url, 3)
        await settle(readers, expected)
        delivered = duplicates = 0
        for reader, mark in zip(readers, marks, strict=True):
            got = reader.seen[mark:]
            delivered += len(set(got) & set(expected))
            duplicates += len(got) - len(set(got))
        unavailable = sum(reader.unavailable for reader in readers) - unavailable_before
        results.append((name, delivered, len(expected) * len(readers), duplicates, unavailable))

    async def kill_hub() -> None:
        hub.kill()
        await asyncio.sleep(1)
        await loop.run_in_executor(None, hub.start)

    async def cut_database() -> None:
        away = database.with_suffix(".away")
        os.rename(database, away)
        for reader in readers[: len(readers) // 2]:
            reader.cut()  # half of them resume while the store is away
        await asyncio.sleep(3)
        os.rename(away, database)

    async def cut_clients() -> None:
        for reader in readers:
            reader.cut()
        await asyncio.sleep(0.1)

    try:
        await asyncio.sleep(2)
        for name, fault in (
            ("kill -9 hub", kill_hub()),
            ("database away", cut_database()),
            ("cut clients", cut_clients()),
        ):
            await phase(name, fault)
    finally:
        stop.set()
        for reader in readers:
            reader.cut()
        await asyncio.gather(*tasks, return_exceptions=True)
        hub.stop()
    print(f"{args.streams} streams")
    print(f"{'fault':<16} {'delivered/expected':>20} {'duplicates':>11} {'unavailable seen':>17}")
    for name, delivered, expected, duplicates, unavailable in results:
        print(f"{name:<16} {f'{delivered}/{expected}':>20} {duplicates:>11} {unavailable:>17}")


if __name__ == "__main__":
    asyncio.run(main())
