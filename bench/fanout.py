"""Fan-out cost, side by side: the product hub against a plain Node `http` SSE server.

For each N it starts the server under test pinned to core 0, opens N SSE connections from
`bench/loadgen.py` pinned to core 1, publishes messages through `POST /api/chat/generate`
(one agent per call) at a steady open-loop rate, and prints one table:

- delivered/expected and duplicates, latency p50/p99 from `created_at` to receipt,
- server CPU µs per delivery (user+sys from /proc over the publish phase),
- server RSS per idle connection, connects per second.

Two hubs run beside the reference in one run: the hub as shipped (`event: book` only for streams
that ask, `?books=1`, and then only each round's changes) and the hub with
`AGENTCHAT_BOOK_FRAMES=every_stream` (the former behaviour: every round's full books to every
stream), so the ratios of old and new are measured side by side. Chat-only streams (no `books=1`,
one-agent rounds) are what the Python feed, the dashboard's wake-up, an embed or `curl` cost. The
books rows are what a viewer page costs: `?books=1` streams on six-agent rounds, against the
reference sending the same frames (six messages, then a book frame of the size the hub sent); their
figure is CPU per delivered byte.

The product hub runs as shipped (`python -m agentchat hub` on a fresh SQLite file), so its
CPU includes generating and storing each message; the reference (`bench/reference/server.js`)
stores nothing and writes frames of the same size. A last scenario stalls 1 % of the
connections and compares the others' p99 with a run without stalls.

    python bench/fanout.py                 # N = 1,000, 5,000 and 10,000 (about 3 minutes)
    python bench/fanout.py --sizes 1000    # quicker
    python bench/fanout.py --repeat 3      # medians of three alternating runs per row (about 10 minutes)
    python bench/fanout.py --http h11      # the hub under uvicorn's h11 protocol (the plain-ASGI route)
    python bench/fanout.py --book-sizes 1000,5000   # the books rows at these N ('' for none)

Everything is bounded: connect concurrency, counts, run time; only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from agentchat.hub_client import HubClient  # noqa: E402
from agentchat.message import Message  # noqa: E402
from tests.kit.hubs import UNBOUNDED, HubProcess  # noqa: E402
from tests.kit.ports import free_port  # noqa: E402
from tests.kit.processes import cpu_seconds  # noqa: E402
from tests.kit.waits import answers, wait_until  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
SERVER_CORE, LOAD_CORE = 0, 1


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass
class Row:
    server: str
    connections: int
    result: dict[str, Any]
    cpu_us_per_delivery: float
    rss_per_connection_kb: float
    cpu_seconds: float = 0.0

    @property
    def cpu_ns_per_byte(self) -> float:
        return self.cpu_seconds / max(1, int(self.result["bytes"])) * 1e9

    @property
    def connects_per_second(self) -> float:
        return self.connections / float(self.result["connect_seconds"])


class Server:
    """A server under test: started, pinned, sampled, stopped."""

    name = "server"
    pid = 0
    port = 0

    def stop(self) -> None: ...


class ProductHub(Server):
    """`python -m agentchat hub` as shipped, without the access log (the reference keeps none)."""

    name = "agentchat hub"

    def __init__(self, workdir: Path, **settings: Any) -> None:
        database = f"sqlite:///{workdir}/fanout-{time.monotonic_ns()}.db"
        self.hub = HubProcess(database, workdir, access_log="false", generate_per_minute=UNBOUNDED, **settings).start()
        assert self.hub.process is not None
        self.pid, self.port = self.hub.process.pid, self.hub.port
        os.sched_setaffinity(self.pid, {SERVER_CORE})

    def median_frame_bytes(self) -> int:
        with HubClient(self.hub.url) as hub:
            page = hub.messages().json()
        return int(statistics.median(len(Message.from_dict(m).sse_frame()) for m in page["messages"]))

    def dropped_slow(self) -> float:
        return self.hub.metric("agentchat_clients_dropped_slow_total")

    def stop(self) -> None:
        self.hub.stop()


class NodeReference(Server):
    name = "node http (reference)"

    def __init__(self, content_chars: int, book_chars: int = 0) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            ["node", str(BENCH / "reference" / "server.js"), str(self.port), str(content_chars), str(book_chars)],
            stdout=subprocess.DEVNULL,
        )
        self.pid = self.process.pid
        os.sched_setaffinity(self.pid, {SERVER_CORE})
        wait_until(lambda: answers(f"http://127.0.0.1:{self.port}/healthz"), timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def load(
    server: Server,
    connections: int,
    messages: int,
    rate: float,
    stall_fraction: float = 0.0,
    query: str = "",
    agent: str = "claude_arbitrage",
) -> Row:
    """One measured run of `loadgen.py` against `server`."""
    baseline_rss = rss_bytes(server.pid)
    loader = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "loadgen.py"),
            f"--port={server.port}",
            f"--connections={connections}",
            f"--messages={messages}",
            f"--rate={rate}",
            f"--stall-fraction={stall_fraction}",
            f"--query={query}",
            f"--agent={agent}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert loader.stdin is not None and loader.stdout is not None
    os.sched_setaffinity(loader.pid, {LOAD_CORE})
    try:
        connected = json.loads(loader.stdout.readline() or "{}")
        if connected.get("phase") != "connected":
            raise RuntimeError("the load process failed to connect; see its output above")
        time.sleep(1.0)  # let the server settle before sampling memory
        connected_rss = rss_bytes(server.pid)
        cpu_before = cpu_seconds(server.pid)
        loader.stdin.write("publish\n")
        loader.stdin.flush()
        result = json.loads(loader.stdout.readline())
        cpu_after = cpu_seconds(server.pid)
    finally:
        loader.wait(60)
    deliveries = max(1, result["delivered"] + result["stalled"] * result["published"])
    return Row(
        server=server.name,
        connections=connections,
        result=result,
        cpu_us_per_delivery=(cpu_after - cpu_before) / deliveries * 1e6,
        rss_per_connection_kb=(connected_rss - baseline_rss) / connections / 1024,
        cpu_seconds=cpu_after - cpu_before,
    )


def print_table(rows: list[Row], per_byte: bool = False) -> None:
    header = (
        f"{'server':<27}{'N':>7}{'delivered/expected':>20}{'dup':>5}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU µs/delivery':>17}{'RSS KB/conn':>13}{'connects/s':>12}"
        + (f"{'KB/stream':>11}{'CPU ns/byte':>13}" if per_byte else "")
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        print(
            f"{row.server:<27}{row.connections:>7}{r['delivered']:>11}/{r['expected']:<8}{r['duplicates']:>5}"
            f"{r['latency_p50_ms']:>9.1f}{r['latency_p99_ms']:>9.1f}{row.cpu_us_per_delivery:>17.2f}"
            f"{row.rss_per_connection_kb:>13.1f}{row.connects_per_second:>12.0f}"
            + (f"{r['bytes'] / row.connections / 1024:>11.1f}{row.cpu_ns_per_byte:>13.2f}" if per_byte else "")
        )


OLD_HUB = "hub, books to all (old)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="comma-separated connection counts")
    parser.add_argument("--book-sizes", default="1000,5000", help="connection counts of the books rows ('' for none)")
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second")
    parser.add_argument("--skip-stall", action="store_true", help="skip the stalled-client scenario")
    parser.add_argument("--skip-old", action="store_true", help="skip the hub with the former book frames")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the table shows medians")
    parser.add_argument(
        "--http", default="auto", choices=["auto", "httptools", "h11"], help="the hub's HTTP protocol (uvicorn)"
    )
    args = parser.parse_args()
    if shutil.which("node") is None:
        sys.exit("bench/fanout.py needs node for the reference server")
    limit = raise_fd_limit()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    book_sizes = [int(size) for size in args.book_sizes.split(",") if size]
    if max(sizes + book_sizes) + 100 > limit:
        sys.exit(f"the file descriptor limit ({limit}) is too low for {max(sizes + book_sizes)} connections")
    print(
        f"cores: server on {SERVER_CORE}, load on {LOAD_CORE}; {args.messages} rounds at {args.rate}/s per run; "
        f"hub HTTP protocol {args.http}; load average {os.getloadavg()[0]:.1f}\n"
    )

    with tempfile.TemporaryDirectory() as workdir:
        if sizes:
            print("chat-only streams (no books=1), one-agent rounds")
            chat_only(Path(workdir), sizes, args)
        if book_sizes:
            print(f"\nbooks=1 streams, six-agent rounds ({args.messages // 2} rounds at {args.rate / 2}/s per run)")
            with_books(Path(workdir), book_sizes, args)
        if not args.skip_stall:
            stalled_scenario(Path(workdir), args.repeat, args.http)


def chat_only(workdir: Path, sizes: list[int], args: argparse.Namespace) -> None:
    """The hub as shipped, the hub with the former book frames and the reference, alternating, per N."""
    rows: list[Row] = []
    ratios: list[tuple[int, float, float | None]] = []
    for size in sizes:
        products, olds, references = [], [], []
        for _ in range(args.repeat):  # alternate the servers so drift hits them alike
            products.append(run_product(workdir, size, args.messages, args.rate, hub_http=args.http))
            if not args.skip_old:
                olds.append(
                    run_product(workdir, size, args.messages, args.rate, hub_http=args.http, book_frames="every_stream")
                )
                olds[-1].server = OLD_HUB
            content_chars = max(1, products[-1].result["frame_bytes"] - 260)  # the reference's frame adds ~260
            references.append(run_reference(content_chars, size, args.messages, args.rate))
        product, reference = median_row(products), median_row(references)
        old = median_row(olds) if olds else None
        rows += [product, *([old] if old else []), reference]
        ratios.append(
            (
                size,
                product.cpu_us_per_delivery / reference.cpu_us_per_delivery,
                old.cpu_us_per_delivery / reference.cpu_us_per_delivery if old else None,
            )
        )
    print_table(rows)
    print()
    for size, ratio, old_ratio in ratios:
        former = f"; with book frames to every stream (old) {old_ratio:.2f}x" if old_ratio is not None else ""
        print(f"CPU per delivery, hub / node at N = {size}: {ratio:.2f}x{former}")


def with_books(workdir: Path, sizes: list[int], args: argparse.Namespace) -> None:
    """`?books=1` streams on six-agent rounds: CPU per delivered byte against the reference sending the same."""
    rounds, rate = max(1, args.messages // 2), args.rate / 2
    rows: list[Row] = []
    summary: list[str] = []
    for size in sizes:
        products, olds, references = [], [], []
        for _ in range(args.repeat):
            products.append(run_product(workdir, size, rounds, rate, hub_http=args.http, query="?books=1", agent=""))
            if not args.skip_old:
                olds.append(
                    run_product(
                        workdir,
                        size,
                        rounds,
                        rate,
                        hub_http=args.http,
                        query="?books=1",
                        agent="",
                        book_frames="every_stream",
                    )
                )
                olds[-1].server = OLD_HUB
            new = products[-1].result
            content_chars = max(1, new["frame_bytes"] - 260)
            book_bytes = new["book_bytes"] / max(1, new["book_frames"])  # the hub's mean book frame on the wire
            references.append(
                run_reference(content_chars, size, rounds, rate, book_chars=max(1, int(book_bytes) - 90), agent="")
            )
        product, reference = median_row(products), median_row(references)
        old = median_row(olds) if olds else None
        rows += [product, *([old] if old else []), reference]
        per_round = [
            (row.server, row.result["book_bytes"] / max(1, row.result["book_frames"])) for row in (product, old) if row
        ]
        summary.append(
            f"N = {size}: CPU per delivered byte, hub / node {product.cpu_ns_per_byte / reference.cpu_ns_per_byte:.2f}x"
            + (f", old hub / node {old.cpu_ns_per_byte / reference.cpu_ns_per_byte:.2f}x" if old else "")
            + "; book frame bytes per round and stream: "
            + ", ".join(f"{name} {size_:.0f}" for name, size_ in per_round)
            + f", node {reference.result['book_bytes'] / max(1, reference.result['book_frames']):.0f}"
        )
    print_table(rows, per_byte=True)
    print()
    for line in summary:
        print(line)


def run_product(
    workdir: Path,
    size: int,
    messages: int,
    rate: float,
    stall_fraction: float = 0.0,
    query: str = "",
    agent: str = "claude_arbitrage",
    **settings: Any,
) -> Row:
    hub = ProductHub(workdir, **settings)
    try:
        if query:  # a round before the streams open: what they are sent is each round's books, not the first
            hub.hub.generate()
        row = load(hub, size, messages, rate, stall_fraction, query, agent)
        row.result["frame_bytes"] = hub.median_frame_bytes()
        row.result["dropped_slow"] = hub.dropped_slow()
        row.result["rss_after_mb"] = rss_bytes(hub.pid) / 2**20
        return row
    finally:
        hub.stop()


def run_reference(
    content_chars: int, size: int, messages: int, rate: float, book_chars: int = 0, agent: str = "claude_arbitrage"
) -> Row:
    node = NodeReference(content_chars, book_chars)
    try:
        return load(node, size, messages, rate, agent=agent)
    finally:
        node.stop()


def median_row(rows: list[Row]) -> Row:
    """Each figure's median over repeated runs (counts are summed)."""
    summed = ("published", "expected", "delivered", "duplicates", "stalled", "stalled_dropped", "dropped_slow")
    result = dict(rows[0].result)
    for key, value in result.items():
        values = [row.result[key] for row in rows]
        if key in summed:
            result[key] = sum(values)
        elif isinstance(value, int | float):
            result[key] = statistics.median(values)
    return Row(
        server=rows[0].server,
        connections=rows[0].connections,
        result=result,
        cpu_us_per_delivery=statistics.median(row.cpu_us_per_delivery for row in rows),
        rss_per_connection_kb=statistics.median(row.rss_per_connection_kb for row in rows),
        cpu_seconds=statistics.median(row.cpu_seconds for row in rows),
    )


def stalled_scenario(workdir: Path, repeat: int, http: str) -> None:
    """1 % of 1,000 streams stop reading: they are dropped, memory stays put, the others barely notice."""
    print("\nstalled clients: N = 1,000, 800 messages at 50/s, client buffer 16 KiB (medians of alternating runs)")
    calm_runs, stalled_runs = [], []
    for _ in range(repeat):
        calm_runs.append(run_product(workdir, 1000, 800, 50.0, client_buffer_bytes=16384, hub_http=http))
        stalled_runs.append(
            run_product(workdir, 1000, 800, 50.0, client_buffer_bytes=16384, stall_fraction=0.01, hub_http=http)
        )
    calm, stalled = median_row(calm_runs), median_row(stalled_runs)
    calm.server, stalled.server = "hub, 0% stalled", "hub, 1% stalled"
    print_table([calm, stalled])
    print(
        f"stalled clients dropped: {stalled.result['stalled_dropped']}/{stalled.result['stalled']} "
        f"(metric {stalled.result['dropped_slow']:.0f}); hub RSS after: "
        f"{calm.result['rss_after_mb']:.0f} MB without stalls, {stalled.result['rss_after_mb']:.0f} MB with; "
        f"others' p99 moved {stalled.result['latency_p99_ms'] / calm.result['latency_p99_ms'] - 1:+.0%}"
    )


if __name__ == "__main__":
    main()
