"""The kernel's floor under the fan-out: CPU per delivery of a bare `socket.send`, no server at all.

A delivery on a loopback stream is at least one `send` of a frame to one TCP socket; on loopback the
kernel also runs the receiving side's TCP input and wakes the reader in the sender's system call, so
the sender pays for both ends. This measures that cost alone, as `bench/fanout.py` measures servers:
the writer (this process) pinned to core 0 sends one frame of `--frame-bytes` to each of N connections
per message, at `--rate` messages per second, and its CPU (user + sys, `getrusage`) is divided by the
sends; a reader process pinned to core 1 holds the other ends and drains them (uvloop, as
`bench/loadgen.py` does). No server doing one write per delivery can cost less than this per delivery,
so set the hub's and Node's figures from `bench/fanout.py` beside it.

    python bench/write_floor.py                      # N = 1,000, 5,000 and 10,000
    python bench/write_floor.py --sizes 1000 --messages 100
    python bench/write_floor.py --uvloop             # through uvloop's transport.write, as the hub writes

The user time is the Python loop around `send` (a fraction of a microsecond); the sys time is the
kernel's. Only 127.0.0.1; bounded counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import time

WRITER_CORE, READER_CORE = 0, 1


class Drain(asyncio.Protocol):
    """The reading end: takes whatever arrives and forgets it."""

    def data_received(self, data: bytes) -> None:
        pass


async def serve(port_out: int) -> None:
    """The reader: accept connections, drain them, until stdin closes."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Drain, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    os.write(port_out, f"{port}\n".encode())
    await loop.run_in_executor(None, sys.stdin.readline)
    server.close()


def reader_main() -> None:
    import uvloop

    raise_fd_limit()
    uvloop.run(serve(sys.stdout.fileno()))


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu() -> tuple[float, float]:
    """This process's user and sys seconds (getrusage: finer than os.times' clock ticks)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def measure(port: int, connections: int, messages: int, rate: float, frame: bytes) -> tuple[float, float]:
    """User and sys µs per send over `messages` rounds of one send to each of `connections` sockets."""
    sockets = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as uvicorn and Node set it
        sock.setblocking(False)
        sockets.append(sock)
    sends = [sock.send for sock in sockets]
    time.sleep(1.0)  # let the reader accept everything before sampling
    user0, sys0 = cpu()
    started = time.perf_counter()
    for index in range(messages):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        for send in sends:
            send(frame)
    user1, sys1 = cpu()
    for sock in sockets:
        sock.close()
    count = connections * messages
    return (user1 - user0) / count * 1e6, (sys1 - sys0) / count * 1e6


def measure_uvloop(port: int, connections: int, messages: int, rate: float, frame: bytes) -> tuple[float, float]:
    """As `measure`, through uvloop transports' `write` (what the hub's fan-out calls) in one event loop."""
    import uvloop

    async def run() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        transports = []
        for _ in range(connections):
            transport, _protocol = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
            transports.append(transport)
        writes = [transport.write for transport in transports]
        await asyncio.sleep(1.0)
        user0, sys0 = cpu()
        started = time.perf_counter()
        for index in range(messages):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for write in writes:
                write(frame)
        user1, sys1 = cpu()
        for transport in transports:
            transport.abort()
        count = connections * messages
        return (user1 - user0) / count * 1e6, (sys1 - sys0) / count * 1e6

    return uvloop.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second (as bench/fanout.py)")
    parser.add_argument("--frame-bytes", type=int, default=500)
    parser.add_argument("--uvloop", action="store_true", help="write through uvloop transports, as the hub does")
    parser.add_argument("--reader", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        reader_main()
        return
    raise_fd_limit()
    os.sched_setaffinity(0, {WRITER_CORE})
    frame = b"id: 1\ndata: " + b"x" * max(0, args.frame_bytes - 14) + b"\n\n"
    print(f"{'N':>7} {'user µs/send':>13} {'sys µs/send':>12} {'total µs/send':>14}")
    for size in (int(s) for s in args.sizes.split(",")):
        reader = subprocess.Popen(
            [sys.executable, __file__, "--reader"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert reader.stdin is not None and reader.stdout is not None
        os.sched_setaffinity(reader.pid, {READER_CORE})
        try:
            port = int(reader.stdout.readline())
            user, system = (measure_uvloop if args.uvloop else measure)(port, size, args.messages, args.rate, frame)
        finally:
            reader.stdin.close()
            reader.wait(30)
        print(f"{size:>7,} {user:>13.2f} {system:>12.2f} {user + system:>14.2f}", flush=True)


if __name__ == "__main__":
    main()
