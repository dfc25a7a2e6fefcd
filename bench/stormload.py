"""The load process of `bench/storm.py`: SSE streams that behave like an EventSource, as cheaply as possible.

Each stream is a raw asyncio Protocol on uvloop: it sends a minimal GET with `Last-Event-ID`,
finds `retry:` and `id:` lines in what arrives (and, on a sample of streams, `created_at`, for
latency) and nothing else. When its connection ends or is refused it waits its last `retry:` and
comes back with its last id, as a browser does. No task per stream while it is open; a connect is
one `create_connection`. A few of these processes run on the core the hub is not pinned to.

It talks to its parent with JSON lines: a command on stdin, one answer on stdout.

    {"cmd": "open", "resume": bool}   open every stream not open (bounded concurrency); answer when all have `ready`
    {"cmd": "open", "resume": true, "last_id": N}   the same, every stream resuming from id N
    {"cmd": "close"}                  abort every stream; none reconnects until the next open or storm
    {"cmd": "forget"}                 forget what was received so far (a new phase)
    {"cmd": "storm"}                  from now on a stream that ends reconnects by itself after its retry
    {"cmd": "target", "id": N}        note when each stream has received id N (caught up)
    {"cmd": "status"}                 how many are open and caught up, and when the last caught up
    {"cmd": "report", "expected": [...], "since": t}  lost and duplicated ids, live latencies after t

Only 127.0.0.1; bounded in count, concurrency and time; it stops when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import time
from datetime import datetime

import uvloop

FRAME_ID = re.compile(rb"\nid: (\d+)\n")
CREATED_AT = re.compile(rb'\nid: (\d+)\ndata: [^\n]*?"created_at":"([^"]+)"')
RETRY = re.compile(rb"\nretry: (\d+)\n")
READY = b"\nevent: ready\n"


def epoch_of(created_at: bytes) -> float:
    return datetime.fromisoformat(created_at.decode().replace("Z", "+00:00")).timestamp()


class Load:
    """Every stream of this process, and what the parent asks of them."""

    def __init__(self, port: int, count: int, sample_every: int, concurrency: int) -> None:
        self.port = port
        self.loop = asyncio.get_running_loop()
        self.streams = [Stream(self, index % sample_every == 0) for index in range(count)]
        self.concurrency = concurrency
        self.reconnecting = False  # EventSource behaviour: come back after retry
        self.target: int | None = None
        self.ready_waiters: list[asyncio.Future[None]] = []
        self.refused = 0

    def connect(self, stream: Stream) -> None:
        self.loop.create_task(self._connect(stream))

    async def _connect(self, stream: Stream) -> None:
        try:
            await self.loop.create_connection(lambda: stream, "127.0.0.1", self.port)
        except OSError:
            self.refused += 1
            stream.open = False
            if self.reconnecting:
                self.loop.call_later(stream.retry_ms / 1000, self.connect, stream)
            else:
                stream.failed()

    async def open_all(self, resume: bool, last_id: int | None = None) -> dict[str, object]:
        """Open every closed stream, at most `concurrency` in flight; answer when each has `ready`.

        With `last_id`, every stream resumes from that id (as if it were the last it had received)."""
        if last_id is not None:
            for stream in self.streams:
                stream.last_id = last_id
        gate = asyncio.Semaphore(self.concurrency)
        started = time.monotonic()

        async def one(stream: Stream) -> None:
            async with gate:
                for _attempt in range(20):
                    stream.resume = resume
                    stream.ready_future = self.loop.create_future()
                    self.connect(stream)
                    try:
                        await asyncio.wait_for(stream.ready_future, 30)
                        return
                    except (ConnectionError, TimeoutError):
                        await asyncio.sleep(0.05)
                raise ConnectionError("a stream could not be opened in 20 attempts")

        cpu_before = cpu_seconds()
        await asyncio.gather(*(one(s) for s in self.streams if not s.open))
        return {
            "started": started,
            "finished": time.monotonic(),
            "open": sum(s.open for s in self.streams),
            "cpu": cpu_seconds() - cpu_before,
        }

    def close_all(self) -> None:
        self.reconnecting = False
        for stream in self.streams:
            stream.close()

    def status(self) -> dict[str, object]:
        caught = [s.caught_at for s in self.streams if s.caught_at is not None]
        return {
            "open": sum(s.open for s in self.streams),
            "caught_up": len(caught),
            "last_caught_at": max(caught) if caught else None,
            "first_back_at": min((s.back_at for s in self.streams if s.back_at is not None), default=None),
            "refused": self.refused,
            "cpu": cpu_seconds(),
        }

    def report(self, expected: list[int], since: float) -> dict[str, object]:
        wanted = set(expected)
        lost = duplicates = 0
        for stream in self.streams:
            got = set(stream.ids)
            duplicates += len(stream.ids) - len(got)
            lost += len(wanted - got)
        live = sorted(latency for s in self.streams for at, latency in s.live_latencies if at >= since)
        before = sorted(latency for s in self.streams for at, latency in s.live_latencies if at < since)
        return {"lost": lost, "duplicates": duplicates, "live_latencies": live, "before_latencies": before}


class Stream(asyncio.Protocol):
    """One SSE stream that reconnects as an EventSource does (see the module docstring)."""

    def __init__(self, load: Load, sample: bool) -> None:
        self.load = load
        self.sample = sample
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.resume = False
        self.last_id = 0
        self.retry_ms = 3000
        self.ids: list[int] = []
        self.tail = b"\n"
        self.got_ready = False
        self.ready_future: asyncio.Future[None] | None = None
        self.caught_at: float | None = None
        self.back_at: float | None = None  # the first `ready` after the storm began
        self.ready_wall = 0.0
        self.live_latencies: list[tuple[float, float]] = []  # (monotonic receipt, seconds since created_at)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True
        self.got_ready = False
        self.tail = b"\n"
        resume = b"Last-Event-ID: %d\r\n" % self.last_id if self.resume and self.last_id else b""
        transport.write(b"GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n%b\r\n" % resume)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buffer = self.tail + data
        cut = buffer.rfind(b"\n\n")
        if cut < 0:
            self.tail = buffer
            return
        complete, self.tail = buffer[: cut + 1], buffer[cut + 1 :]
        if not self.got_ready:
            found = RETRY.search(complete)
            if found:
                self.retry_ms = int(found.group(1))
            if READY in complete:
                self.got_ready = True
                self.ready_wall = time.time()
                if self.load.reconnecting and self.back_at is None:
                    self.back_at = time.monotonic()
                if self.ready_future is not None and not self.ready_future.done():
                    self.ready_future.set_result(None)
            elif b"\nevent: unavailable\n" in complete:
                return  # the hub closes; connection_lost brings it back
        if self.sample:
            now, wall = time.monotonic(), time.time()
            for match in CREATED_AT.finditer(complete):
                self._got(int(match.group(1)))
                created = epoch_of(match.group(2))
                if created > self.ready_wall:  # published after this connection's replay: live
                    self.live_latencies.append((now, wall - created))
        else:
            for match in FRAME_ID.finditer(complete):
                self._got(int(match.group(1)))

    def _got(self, message_id: int) -> None:
        self.ids.append(message_id)
        if message_id > self.last_id:
            self.last_id = message_id
        target = self.load.target
        if target is not None and self.caught_at is None and self.last_id >= target:
            self.caught_at = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.transport = None
        if self.ready_future is not None and not self.ready_future.done():
            self.ready_future.set_exception(ConnectionError(str(exc or "closed before ready")))
        if self.load.reconnecting:
            self.resume = True
            self.load.loop.call_later(self.retry_ms / 1000, self.load.connect, self)

    def failed(self) -> None:
        if self.ready_future is not None and not self.ready_future.done():
            self.ready_future.set_exception(ConnectionError("refused"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(args: argparse.Namespace) -> None:
    load = Load(args.port, args.streams, args.sample_every, args.concurrency)
    reader = asyncio.StreamReader()
    await load.loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        name = command["cmd"]
        answer: dict[str, object]
        if name == "open":
            load.port = command.get("port", load.port)
            last_id = command.get("last_id")
            answer = await load.open_all(bool(command.get("resume")), None if last_id is None else int(last_id))
        elif name == "close":
            load.close_all()
            await asyncio.sleep(0.2)
            answer = {"open": sum(s.open for s in load.streams)}
        elif name == "forget":
            for stream in load.streams:
                stream.ids, stream.live_latencies, stream.caught_at, stream.back_at = [], [], None, None
            load.target, load.refused = None, 0
            answer = {}
        elif name == "storm":
            load.reconnecting = True
            answer = {}
        elif name == "target":
            load.target = int(command["id"])
            answer = {}
        elif name == "status":
            answer = load.status()
        elif name == "report":
            answer = load.report(command["expected"], command["since"])
        else:
            answer = {"error": f"unknown command {name}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--sample-every", type=int, default=10, help="latency on every n-th stream")
    parser.add_argument("--concurrency", type=int, default=256, help="connects in flight while opening")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(asyncio.wait_for(serve(args), timeout=900))


if __name__ == "__main__":
    main()
