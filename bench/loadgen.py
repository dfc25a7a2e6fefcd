"""The load process of `bench/fanout.py`: N SSE connections and an open-loop publisher.

A blocking SSE client cannot load a server, so this is asyncio on uvloop with a small
protocol parser: each connection only looks for `id: N` lines (duplicates, order) and,
on a sample of connections, the `created_at` of each frame (latency). It speaks to its
parent on stdin/stdout with JSON lines:

    -> {"phase": "connected", ...}    N streams are open and have their first event
    <- "publish"                        (the parent has sampled the hub's CPU and RSS)
    -> {"phase": "done", ...}          results

Only 127.0.0.1; bounded connect concurrency, count and run time; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import sys
import time
from datetime import datetime
from typing import cast

import uvloop

FRAME_ID = re.compile(rb"\nid: (\d+)\n")
BOOK_FRAME = re.compile(rb"event: book\ndata: [^\n]*\n")  # and the blank line after it
CREATED_AT = re.compile(rb'\nid: (\d+)\ndata: [^\n]*?"created_at":"([^"]+)"')


def epoch_of(created_at: bytes) -> float:
    return datetime.fromisoformat(created_at.decode().replace("Z", "+00:00")).timestamp()


class Stream(asyncio.Protocol):
    """One SSE connection; counts frames, notices duplicates, samples latency."""

    def __init__(self, request: bytes, sample_latency: bool, stall: bool, ready: asyncio.Future[None]) -> None:
        self.request = request
        self.sample_latency = sample_latency
        self.stall = stall
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.tail = b"\n"
        self.last_id = 0
        self.received = 0
        self.duplicates = 0
        self.latencies: list[float] = []
        self.closed_by_server = False
        self.bytes = 0  # everything received after the publish phase began (frames of any event)
        self.counting = False
        self.books = 0  # `event: book` frames received
        self.book_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.ready.done():
            self.ready.set_result(None)
            if self.stall:
                assert self.transport is not None
                self.transport.pause_reading()  # from now on this client never reads
        now = time.time()
        if self.counting:
            self.bytes += len(data)
        buffer = self.tail + data
        cut = buffer.rfind(b"\n\n")
        if cut < 0:
            self.tail = buffer
            return
        complete, self.tail = buffer[: cut + 1], buffer[cut + 1 :]
        if self.counting and b"event: book" in complete:
            for match in BOOK_FRAME.finditer(complete):
                self.books += 1
                self.book_bytes += len(match.group(0)) + 1
        if self.sample_latency:
            for match in CREATED_AT.finditer(complete):
                self._count(int(match.group(1)))
                self.latencies.append(now - epoch_of(match.group(2)))
        else:
            for match in FRAME_ID.finditer(complete):
                self._count(int(match.group(1)))

    def _count(self, message_id: int) -> None:
        if message_id <= self.last_id:
            self.duplicates += 1
            return
        self.last_id = message_id
        self.received += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed_by_server = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(str(exc or "closed before the first event")))


class Publisher:
    """Open-loop POSTs over a few keep-alive connections (a new one when all are busy)."""

    def __init__(self, port: int, body: bytes, count: int) -> None:
        self.port = port
        self.request = (
            b"POST /api/chat/generate?count=%d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (count, len(body), body)
        )
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.ids: list[int] = []
        self.failures = 0

    async def post(self) -> None:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 201"):
                self.failures += 1
            else:
                self.ids += [message["id"] for message in json.loads(body)["messages"]]
            self.idle.append((reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            self.failures += 1
            writer.close()

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def open_streams(args: argparse.Namespace) -> tuple[list[Stream], float]:
    loop = asyncio.get_running_loop()
    request = f"GET /api/chat/stream{args.query} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n\r\n".encode()
    gate = asyncio.Semaphore(args.connect_concurrency)
    streams: list[Stream] = []
    stall_every = round(1 / args.stall_fraction) if args.stall_fraction > 0 else 0

    async def connect(index: int) -> None:
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            stream = Stream(
                request,
                sample_latency=index % args.latency_sample_every == 0,
                stall=bool(stall_every) and index % stall_every == stall_every - 1,
                ready=ready,
            )
            for attempt in range(5):
                try:
                    if stream.stall:  # a small window, like a phone that stopped reading
                        sock = socket.socket()
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
                        sock.setblocking(False)
                        await loop.sock_connect(sock, ("127.0.0.1", args.port))
                        await loop.create_connection(lambda: stream, sock=sock)
                    else:
                        await loop.create_connection(lambda: stream, "127.0.0.1", args.port)
                    await asyncio.wait_for(ready, 30)
                    break
                except (OSError, ConnectionError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.05 * 2**attempt)
                    ready = stream.ready = loop.create_future()
            streams.append(stream)

    started = time.perf_counter()
    await asyncio.gather(*(connect(i) for i in range(args.connections)))
    return streams, time.perf_counter() - started


async def run(args: argparse.Namespace) -> dict[str, object]:
    streams, connect_seconds = await open_streams(args)
    print(json.dumps({"phase": "connected", "seconds": connect_seconds}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    body = json.dumps({"agents": [args.agent]}).encode() if args.agent else b""
    publisher = Publisher(args.port, body, 1 if args.agent else 6)  # the reference reads `count`, the hub the body
    for stream in streams:
        stream.counting = True
    started = time.perf_counter()
    posts = []
    for index in range(args.messages):
        delay = started + index / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.ensure_future(publisher.post()))
    await asyncio.gather(*posts)
    reading = [s for s in streams if not s.stall]
    expected = len(publisher.ids)
    deadline = time.perf_counter() + args.settle_seconds
    while time.perf_counter() < deadline and any(s.received < expected for s in reading):
        await asyncio.sleep(0.05)
    publisher.close()
    for stream in streams:
        if stream.stall and stream.transport is not None and not stream.closed_by_server:
            stream.transport.resume_reading()  # a cut-off connection shows itself once read again
    await asyncio.sleep(1.0)
    latencies = sorted(latency for s in reading for latency in s.latencies)
    stalled = [s for s in streams if s.stall]
    result = {
        "phase": "done",
        "connect_seconds": connect_seconds,
        "published": expected,
        "publish_failures": publisher.failures,
        "expected": expected * len(reading),
        "delivered": sum(s.received for s in reading),
        "duplicates": sum(s.duplicates for s in streams),
        "reading_dropped": sum(s.closed_by_server for s in reading),
        "stalled": len(stalled),
        "stalled_dropped": sum(s.closed_by_server for s in stalled),
        "bytes": sum(s.bytes for s in reading),
        "book_frames": sum(s.books for s in reading),
        "book_bytes": sum(s.book_bytes for s in reading),
        "latency_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "latency_p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }
    for stream in streams:
        if stream.transport is not None:
            stream.transport.abort()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second, open loop")
    parser.add_argument("--agent", default="claude_arbitrage", help="one agent per POST ('' for the whole roster)")
    parser.add_argument("--query", default="", help="the stream's query string, e.g. '?books=1'")
    parser.add_argument("--stall-fraction", type=float, default=0.0)
    parser.add_argument("--latency-sample-every", type=int, default=10)
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument("--settle-seconds", type=float, default=15.0)
    args = parser.parse_args()
    result = uvloop.run(asyncio.wait_for(run(args), timeout=600))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
