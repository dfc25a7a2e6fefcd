"""Streams through faults: every message delivered once to every stream, whatever breaks.

Starts `python -m agentchat hub` on a fresh SQLite file and opens `--streams` SSE readers
(asyncio sockets that reconnect as an EventSource does: after `retry:`, with `Last-Event-ID`).
Then, in turn: kill -9 the hub and start it again on the same port; take the database file
away for a few seconds (resumes meanwhile get `event: unavailable`); cut every client's
connection; and three hostile clients: a 64 MiB request head, `--idle` connections that send
one byte of a head and nothing more, and a DNS-rebinding request (`Host` and `Origin` of
another site). Rounds are generated before, during (those that the hub refuses are not expected)
and after each fault; a hostile client's row shows the live streams were not held up by it, and
a second table what the hub did to that client (the limit that answered it). `--tabs` viewer
pages in Debian's Chromium (each its own browser, so its own stream) go through the same faults;
what they show is read off their cards. Prints, per fault, messages delivered / expected over
all streams and over all tabs, and duplicates.
Loopback only; every phase is bounded in time.

    python bench/chaos.py [--streams 1000] [--tabs 3] [--idle 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kit.hubs import HubProcess

RETRY_FLOOR = 0.5  # seconds; the hub's retry: hint is 3 s, a test of many faults waits less
CHROMIUM = "/usr/bin/chromium"
CARD_IDS = "cards => cards.map(card => Number(card.dataset.id))"
HUGE_HEAD_BYTES = 64 * 1024 * 1024  # what stalled the loop for 5 s before heads were bounded
HEAD_TIMEOUT_SECONDS = 2  # the hub's AGENTCHAT_HEAD_TIMEOUT_SECONDS here (default 10)


def send_huge_head(port: int) -> tuple[int, str]:
    """Offer a HUGE_HEAD_BYTES header; the bytes the hub took before it refused, and its status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        taken, piece = 0, b"a" * 65536
        with contextlib.suppress(OSError):
            while taken < HUGE_HEAD_BYTES:
                sock.sendall(piece)
                taken += len(piece)
        answer = b""
        with contextlib.suppress(OSError):
            answer = sock.recv(200)
    return taken, answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)"


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


class Tabs:
    """Viewer pages, each in a browser context of its own (so each holds its own stream)."""

    def __init__(self, browser: Browser | None) -> None:
        self.browser = browser
        self.pages: list[Page] = []

    async def open(self, url: str, count: int) -> None:
        if self.browser is None:
            return
        for _ in range(count):
            page = await (await self.browser.new_context()).new_page()
            await page.goto(f"{url}/?poll_seconds=1")
            await page.locator("agent-chat[data-state='realtime']").wait_for(timeout=15_000)
            self.pages.append(page)

    async def shown(self) -> list[list[int]]:
        """The card ids each tab shows now (a tab reloading or broken shows none)."""
        found: list[list[int]] = []
        for page in self.pages:
            try:
                found.append(
                    [int(card_id) for card_id in await page.locator("agent-chat .card").evaluate_all(CARD_IDS)]
                )
            except PlaywrightError:  # a page between states counts as showing nothing
                found.append([])
        return found


def generate(url: str, rounds: int) -> list[int]:
    made: list[int] = []
    for _ in range(rounds):
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.post(f"{url}/api/chat/generate", json={"agents": ["claude_arbitrage"]}, timeout=10)
            if response.status_code == 201:
                made.extend(message["id"] for message in response.json()["messages"])
    return made


async def settle(readers: list[Reader], tabs: Tabs, expected: list[int], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    wanted = set(expected)
    while time.monotonic() < deadline:
        streams_done = all(wanted <= set(reader.seen) for reader in readers)
        if streams_done and all(wanted <= set(shown) for shown in await tabs.shown()):
            return
        await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--tabs", type=int, default=3, help="viewer pages in Chromium (0: none)")
    parser.add_argument("--idle", type=int, default=300, help="connections that send one byte of a head")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="agentchat-chaos-"))
    database = workdir / "chaos.db"
    settings = {
        "access_log": "false",
        "max_streams": args.streams + args.tabs + 50,
        "max_per_agent": 100,
        "head_timeout_seconds": HEAD_TIMEOUT_SECONDS,
    }
    hub = HubProcess(f"sqlite:///{database}", workdir, **settings).start()
    readers = [Reader(hub.port) for _ in range(args.streams)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(reader.run(stop)) for reader in readers]
    loop = asyncio.get_running_loop()
    results: list[tuple[str, int, int, int, int, int, int, int]] = []
    playwright = await async_playwright().start() if args.tabs else None
    browser = None
    if playwright is not None and Path(CHROMIUM).exists():
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
    tabs = Tabs(browser)
    await tabs.open(hub.url, args.tabs)

    async def phase(name: str, fault: Coroutine[None, None, None]) -> None:
        marks = [len(reader.seen) for reader in readers]
        unavailable_before = sum(reader.unavailable for reader in readers)
        expected = await loop.run_in_executor(None, generate, hub.url, 3)
        await fault
        expected += await loop.run_in_executor(None, generate, hub.url, 3)
        await settle(readers, tabs, expected)
        delivered = duplicates = 0
        for reader, mark in zip(readers, marks, strict=True):
            got = reader.seen[mark:]
            delivered += len(set(got) & set(expected))
            duplicates += len(got) - len(set(got))
        unavailable = sum(reader.unavailable for reader in readers) - unavailable_before
        shown = await tabs.shown()
        on_tabs = sum(len(set(ids) & set(expected)) for ids in shown)
        tab_duplicates = sum(len(ids) - len(set(ids)) for ids in shown)
        streams_expected, tabs_expected = len(expected) * len(readers), len(expected) * len(tabs.pages)
        results.append(
            (name, delivered, streams_expected, duplicates, unavailable, on_tabs, tabs_expected, tab_duplicates)
        )

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

    limits: list[tuple[str, str]] = []

    async def huge_head() -> None:
        taken, status = await loop.run_in_executor(None, send_huge_head, hub.port)
        limits.append(("huge head", f"{status}; the hub took {taken // 1024} KiB of {HUGE_HEAD_BYTES // 2**20} MiB"))

    async def idle_heads() -> None:
        idle = [await asyncio.open_connection("127.0.0.1", hub.port) for _ in range(args.idle)]
        for _, writer in idle:
            writer.write(b"G")
        closed = 0
        for reader, writer in idle:  # each is closed by the hub at its deadline, or never
            with contextlib.suppress(OSError, TimeoutError):
                answer = await asyncio.wait_for(reader.read(200), HEAD_TIMEOUT_SECONDS + 30)
                closed += answer == b"" or answer.startswith(b"HTTP/1.1 408")
            writer.close()
        limits.append(
            ("idle heads", f"{closed}/{args.idle} closed by the hub ({HEAD_TIMEOUT_SECONDS} s head deadline)")
        )

    async def rebinding() -> None:
        rebound = f"attacker.example:{hub.port}"
        headers = {"Host": rebound, "Origin": f"http://{rebound}"}

        def attempt() -> tuple[httpx.Response, int]:
            before = httpx.get(f"{hub.url}/api/chat/messages", params={"limit": 1000}, timeout=10).json()["last_id"]
            response = httpx.post(f"{hub.url}/api/chat/generate", json={}, headers=headers, timeout=10)
            after = httpx.get(f"{hub.url}/api/chat/messages", params={"limit": 1000}, timeout=10).json()["last_id"]
            return response, after - before

        response, made = await loop.run_in_executor(None, attempt)
        outcome = f"HTTP {response.status_code} {response.json().get('error')}; messages made: {made}"
        limits.append(("rebinding", outcome))

    try:
        await asyncio.sleep(2)
        for name, fault in (
            ("kill -9 hub", kill_hub()),
            ("database away", cut_database()),
            ("cut clients", cut_clients()),
            ("huge head", huge_head()),
            ("idle heads", idle_heads()),
            ("rebinding", rebinding()),
        ):
            await phase(name, fault)
    finally:
        stop.set()
        for reader in readers:
            reader.cut()
        await asyncio.gather(*tasks, return_exceptions=True)
        if browser is not None:
            await browser.close()
        if playwright is not None:
            await playwright.stop()
        hub.stop()
    print(
        f"{args.streams} streams, {len(tabs.pages)} viewer tabs"
        + ("" if browser or not args.tabs else " (no Chromium)")
    )
    print(
        f"{'fault':<16} {'streams delivered':>18} {'duplicates':>11} {'unavailable seen':>17}"
        f" {'tabs shown':>11} {'tab duplicates':>15}"
    )
    for name, delivered, expected, duplicates, unavailable, on_tabs, tabs_expected, tab_duplicates in results:
        print(
            f"{name:<16} {f'{delivered}/{expected}':>18} {duplicates:>11} {unavailable:>17}"
            f" {f'{on_tabs}/{tabs_expected}':>11} {tab_duplicates:>15}"
        )
    print()
    print(f"{'hostile client':<16} what the hub did")
    for name, outcome in limits:
        print(f"{name:<16} {outcome}")


if __name__ == "__main__":
    asyncio.run(main())
