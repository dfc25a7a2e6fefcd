"""Reconnect storm: N viewers back and caught up after a kill -9 and restart of the hub.

The hub (`python -m agentchat hub` on a fresh SQLite file, no access log) is pinned to core 0;
the streams are held by a few `bench/stormload.py` processes pinned to core 1, each a raw asyncio
Protocol per stream that reconnects as an EventSource does (its last `retry:`, its last id).

1. Connect rates, side by side with `bench/reference/server.js` (Node `http`, a frame window of
   its own): M fresh connects and the same M resuming 6 messages behind (from the window), in
   turn first across `--repeat` runs, and for the hub also resuming from the store (a second hub on
   the same file with no window). Each phase follows a round played while the streams are closed;
   a resume sends `Last-Event-ID` of the id before that round, and the hub's `/metrics` must count
   each as a resume from the window.
   Rate = M / time until every stream had `ready` and its replay (after one unmeasured warm-up
   round of connects); CPU = the server's user+sys over that time / M; "limit" says whether the
   server's core or the load's was saturated (85 % busy or more), or neither (the machine).
2. The storm: N streams, a round (6 messages) every second on the hub; kill -9; two rounds on a
   stand-in hub on the same file while it is away; restart on the same port. Every stream comes
   back with its Last-Event-ID after its jittered `retry:` (the hub runs with a 1000-2500 ms range,
   `STORM_RETRY_MS`, as a public deployment would set it). Printed: time from the hub answering
   until all N are back and have every message published meanwhile, lost and duplicated ids over
   the whole run, hub CPU per resume, where the resumes were served from (`/metrics`), and the
   p99 delivery latency of live frames on the streams that were already back during the storm.

    python bench/storm.py                    # N = 10,000, M = 5,000 (about 2 minutes)
    python bench/storm.py --streams 2000     # quicker

N is at most 10,000 and every phase is bounded in time; only 127.0.0.1.
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
import threading
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from tests.kit.hubs import UNBOUNDED, HubProcess  # noqa: E402
from tests.kit.ports import free_port  # noqa: E402
from tests.kit.processes import cpu_seconds  # noqa: E402
from tests.kit.waits import answers, wait_until  # noqa: E402

SERVER_CORE, LOAD_CORE = 0, 1
MAX_STREAMS = 10_000
ROUND = 6  # messages per round (the roster)


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Loads:
    """The load processes, commanded together."""

    def __init__(self, port: int, streams: int, processes: int) -> None:
        share = [streams // processes + (1 if i < streams % processes else 0) for i in range(processes)]
        self.processes = []
        for count in share:
            process = subprocess.Popen(
                [sys.executable, str(BENCH / "stormload.py"), "--port", str(port), "--streams", str(count)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            os.sched_setaffinity(process.pid, {LOAD_CORE})
            self.processes.append(process)

    def ask(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        line = json.dumps(command) + "\n"
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(line)
            process.stdin.flush()
        answers = []
        for process in self.processes:
            assert process.stdout is not None
            answers.append(json.loads(process.stdout.readline()))
        return answers

    def cpu(self) -> float:
        return sum(cpu_seconds(process.pid) for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
            process.terminate()
            process.wait(10)


class Server:
    """A server under test: its pid, port, and a round of messages."""

    name = ""
    pid = 0
    port = 0

    def round(self) -> list[int]:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


# The storm's viewers come back spread over this `retry:` range, as a public deployment would set
# it (the hub's default is the contract's fixed 3000 ms, which brings them back together).
STORM_RETRY_MS = {"stream_retry_min_ms": 1000, "stream_retry_max_ms": 2500}


class Hub(Server):
    def __init__(
        self, database: str, workdir: Path, port: int | None = None, core: int = SERVER_CORE, **settings: Any
    ) -> None:
        self.name = "agentchat hub"
        self.hub = HubProcess(
            database,
            workdir,
            port=port,
            access_log="false",
            generate_per_minute=UNBOUNDED,
            **{**STORM_RETRY_MS, **settings},
        ).start(wait=False)
        assert self.hub.process is not None
        self.pid, self.port = self.hub.process.pid, self.hub.port
        os.sched_setaffinity(self.pid, {core})

    def wait(self) -> float:
        """Block until /healthz answers; returns that moment."""
        wait_until(lambda: answers(f"{self.hub.url}/healthz"), timeout=30, interval=0.005)
        return time.monotonic()

    def round(self) -> list[int]:
        return [m["id"] for m in self.hub.generate().json()["messages"]]

    def metrics(self) -> dict[str, float]:
        wanted = ("agentchat_stream_resumes_total", "agentchat_stream_connects_paced_total")
        found = {}
        for line in httpx.get(f"{self.hub.url}/metrics", timeout=10).text.splitlines():
            if line.startswith(wanted):
                name, value = line.rsplit(" ", 1)
                found[name] = float(value)
        return found

    def kill(self) -> None:
        self.hub.kill()

    def stop(self) -> None:
        self.hub.stop()


class NodeReference(Server):
    def __init__(self) -> None:
        self.name = "node http (reference)"
        self.port = free_port()
        self.process = subprocess.Popen(
            ["node", str(BENCH / "reference" / "server.js"), str(self.port), "430"], stdout=subprocess.DEVNULL
        )
        self.pid = self.process.pid
        os.sched_setaffinity(self.pid, {SERVER_CORE})
        wait_until(lambda: answers(f"http://127.0.0.1:{self.port}/healthz"), timeout=10)

    def round(self) -> list[int]:
        response = httpx.post(f"http://127.0.0.1:{self.port}/api/chat/generate?count={ROUND}", timeout=10)
        return [m["id"] for m in response.json()["messages"]]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def limit(server_cpu: float, load_cpu: float, seconds: float) -> str:
    """Which side was saturated over `seconds`: the server's core, the load's, or neither."""
    server_busy, load_busy = server_cpu / seconds, load_cpu / seconds
    verdict = "server" if server_busy >= 0.85 else "load" if load_busy >= 0.85 else "neither"
    return f"{verdict} (server {server_busy:.0%}, load {load_busy:.0%} of a core)"


def connect_phase(server: Server, loads: Loads, resume_from: int | None) -> dict[str, Any]:
    """Open every stream, fresh, or resuming from id `resume_from`; the rate, CPU and limit of that."""
    server_before = cpu_seconds(server.pid)
    command: dict[str, Any] = {"cmd": "open", "resume": resume_from is not None, "port": server.port}
    if resume_from is not None:
        command["last_id"] = resume_from
    answers = loads.ask(command)
    server_cpu, load_cpu = cpu_seconds(server.pid) - server_before, sum(a["cpu"] for a in answers)
    seconds = max(a["finished"] for a in answers) - min(a["started"] for a in answers)
    opened = sum(a["open"] for a in answers)
    return {
        "rate": opened / seconds,
        "cpu_us": 1e6 * server_cpu / opened,
        "limit": limit(server_cpu, load_cpu, seconds),
        "opened": opened,
    }


def median_rows(runs: list[list[tuple[str, str, dict[str, Any]]]]) -> list[tuple[str, str, dict[str, Any]]]:
    """Each (server, connect) row's median rate and CPU over the runs; the limit of the median-rate run."""
    rows = []
    for index, (server, kind, _) in enumerate(runs[0]):
        found = sorted((run[index][2] for run in runs), key=lambda row: row["rate"])
        middle = found[len(found) // 2]
        rows.append((server, kind, {**middle, "cpu_us": statistics.median(row["cpu_us"] for row in found)}))
    return rows


def connect_rates(
    workdir: Path, count: int, processes: int, resume_first: bool = False
) -> list[tuple[str, str, dict[str, Any]]]:
    """Fresh, resume-from-window and (hub only) resume-from-store connect rates.

    Every measured phase follows a round played while the streams are closed, so a resume is that
    round (6 messages) behind, resuming from the id before it, and a fresh connect comes at the same
    point. `resume_first` swaps the order of the fresh and window phases (`--repeat` alternates it),
    so neither always runs on a warmer hub than the other.
    """
    rows: list[tuple[str, str, dict[str, Any]]] = []
    database = f"sqlite:///{workdir}/rates-{time.monotonic_ns()}.db"
    servers: list[Server] = [Hub(database, workdir)]
    if shutil.which("node"):
        servers.append(NodeReference())
    for server in servers:
        if isinstance(server, Hub):
            server.wait()
        server.round()
        loads = Loads(server.port, count, processes)
        try:
            loads.ask({"cmd": "open", "resume": False})  # a warm-up, not measured: first sockets, first pages
            loads.ask({"cmd": "close"})
            phases = {"fresh": False, "resume (window)": True}
            measured: dict[str, dict[str, Any]] = {}
            for kind in reversed(phases) if resume_first else phases:
                behind_from = server.round()[0] - 1  # played while every stream is closed
                measured[kind] = connect_phase(server, loads, behind_from if phases[kind] else None)
                loads.ask({"cmd": "close"})
            rows += [(server.name, kind, measured[kind]) for kind in phases]  # one row order, whichever ran first
            if isinstance(server, Hub):
                resumed = server.metrics().get('agentchat_stream_resumes_total{source="window"}', 0)
                if resumed < count:  # a stream that never had an id connects fresh, whatever it was asked
                    raise RuntimeError(f"only {resumed:.0f} of {count} connects resumed from the window")
            if isinstance(server, Hub):
                behind_from = server.round()[0] - 1
                store_only = Hub(database, workdir, resume_window_messages=0)
                store_only.wait()
                rows.append(("agentchat hub", "resume (store)", connect_phase(store_only, loads, behind_from)))
                loads.ask({"cmd": "close"})
                store_only.stop()
        finally:
            loads.stop()
            server.stop()
    return rows


class Publisher:
    """A round every second on whichever hub it is pointed at; every id it got back."""

    def __init__(self, server: Hub) -> None:
        self.server: Hub | None = server
        self.ids: list[int] = []
        self.failures = 0
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        next_at = time.monotonic()
        while self.running:
            next_at += 1.0
            with self.lock:
                server = self.server
            if server is not None:
                try:
                    ids = server.round()
                    with self.lock:
                        self.ids += ids
                except (httpx.HTTPError, ValueError, KeyError):
                    self.failures += 1
            time.sleep(max(0.0, next_at - time.monotonic()))

    def point_at(self, server: Hub | None) -> None:
        with self.lock:
            self.server = server

    def stop(self) -> None:
        self.running = False
        self.thread.join(5)


def storm(workdir: Path, streams: int, processes: int, live_seconds: float, timeout: float) -> dict[str, Any]:
    database = f"sqlite:///{workdir}/storm.db"
    hub = Hub(database, workdir)
    hub.wait()
    hub.round()
    loads = Loads(hub.port, streams, processes)
    stand_in: Hub | None = None
    try:
        loads.ask({"cmd": "open", "resume": False})
        loads.ask({"cmd": "forget"})
        loads.ask({"cmd": "storm"})
        publisher = Publisher(hub)
        time.sleep(live_seconds)
        stand_in = Hub(database, workdir, core=LOAD_CORE)
        stand_in.wait()
        publisher.point_at(None)
        time.sleep(0.3)  # a round in flight lands first
        hub.kill()
        killed_at = time.monotonic()
        for _ in range(2):  # published while the hub is away, on another hub of the same store
            with publisher.lock:
                publisher.ids += stand_in.round()
            time.sleep(1.0)
        target = max(publisher.ids)
        loads.ask({"cmd": "target", "id": target})
        hub = Hub(database, workdir, port=hub.port)
        answering_at = hub.wait()
        hub_cpu_at_answer = cpu_seconds(hub.pid)
        load_cpu_at_answer = loads.cpu()
        publisher.point_at(hub)
        caught_up_at = None
        deadline = answering_at + timeout
        while time.monotonic() < deadline:
            status = loads.ask({"cmd": "status"})
            if sum(s["caught_up"] for s in status) == streams:
                caught_up_at = max(s["last_caught_at"] for s in status)
                break
            time.sleep(0.1)
        hub_cpu = cpu_seconds(hub.pid) - hub_cpu_at_answer
        load_cpu = loads.cpu() - load_cpu_at_answer
        storm_seconds = (caught_up_at or time.monotonic()) - answering_at
        metrics = hub.metrics()
        time.sleep(2.5)  # two more live rounds reach everyone
        publisher.stop()
        time.sleep(1.0)
        reports = loads.ask({"cmd": "report", "expected": publisher.ids, "since": answering_at})
        live = sorted(latency for r in reports for latency in r["live_latencies"])
        before = sorted(latency for r in reports for latency in r["before_latencies"])
        caught = sum(s["caught_up"] for s in status)
        resumes = sum(v for k, v in metrics.items() if k.startswith("agentchat_stream_resumes_total"))
        return {
            "streams": streams,
            "down_seconds": answering_at - killed_at,
            "caught_up": caught,
            "seconds": storm_seconds if caught_up_at else None,
            "lost": sum(r["lost"] for r in reports),
            "duplicates": sum(r["duplicates"] for r in reports),
            "published": len(publisher.ids),
            "cpu_us_per_resume": 1e6 * hub_cpu / max(resumes, 1),
            "limit": limit(hub_cpu, load_cpu, storm_seconds),
            "metrics": metrics,
            "p99_live_ms": 1000 * live[int(len(live) * 0.99)] if live else None,
            "p50_live_ms": 1000 * live[len(live) // 2] if live else None,
            "live_frames": len(live),
            "p99_before_ms": 1000 * before[int(len(before) * 0.99)] if before else None,
        }
    finally:
        loads.stop()
        hub.stop()
        if stand_in is not None:
            stand_in.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=MAX_STREAMS, help=f"N, at most {MAX_STREAMS}")
    parser.add_argument("--rate-streams", type=int, default=5000, help="M, the connects of each rate phase")
    parser.add_argument("--processes", type=int, default=3, help="load processes (all on core 1)")
    parser.add_argument("--live-seconds", type=float, default=3.0, help="live rounds before the kill")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up on the storm after this")
    parser.add_argument("--skip-rates", action="store_true")
    parser.add_argument("--skip-storm", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="connect-rate runs (hub and node alternating); medians")
    args = parser.parse_args()
    if not 0 < args.streams <= MAX_STREAMS or not 0 < args.rate_streams <= MAX_STREAMS:
        sys.exit(f"--streams and --rate-streams are at most {MAX_STREAMS}")
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        if not args.skip_rates:
            runs = [
                connect_rates(workdir, args.rate_streams, args.processes, resume_first=run % 2 == 1)
                for run in range(args.repeat)
            ]
            rows = median_rows(runs)
            print(
                f"connect rates, M = {args.rate_streams} (server on core {SERVER_CORE}, load on core {LOAD_CORE}; "
                f"medians of {args.repeat}; load average {os.getloadavg()[0]:.1f})"
            )
            print(f"{'server':24} {'connect':16} {'per second':>10} {'CPU µs each':>12}  limit")
            for server, kind, row in rows:
                print(f"{server:24} {kind:16} {row['rate']:10.0f} {row['cpu_us']:12.0f}  {row['limit']}")
            by = {(server, kind): row for server, kind, row in rows}
            for server in dict.fromkeys(server for server, _, _ in rows):
                fresh, window = by[(server, "fresh")], by[(server, "resume (window)")]
                print(f"{server}: resume from the window / fresh connect rate: {window['rate'] / fresh['rate']:.2f}x")
            if ("node http (reference)", "fresh") in by:
                node = by[("node http (reference)", "fresh")]
                print(f"fresh connect rate, hub / node: {by[('agentchat hub', 'fresh')]['rate'] / node['rate']:.2f}x")
            print()
        if args.skip_storm:
            return
        result = storm(workdir, args.streams, args.processes, args.live_seconds, args.timeout)
    seconds = "not within the timeout" if result["seconds"] is None else f"{result['seconds']:.2f} s"
    print(f"storm: N = {result['streams']}, kill -9 and restart (hub away {result['down_seconds']:.2f} s)")
    print(f"{'all back and caught up after the hub answered':48} {seconds}")
    print(f"{'streams caught up':48} {result['caught_up']}/{result['streams']}")
    print(f"{'messages published over the run':48} {result['published']}")
    print(f"{'lost (stream x message)':48} {result['lost']}")
    print(f"{'duplicated':48} {result['duplicates']}")
    print(f"{'hub CPU per resume':48} {result['cpu_us_per_resume']:.0f} µs")
    print(f"{'limit during the storm':48} {result['limit']}")
    for name, value in sorted(result["metrics"].items()):
        print(f"{name:48} {value:.0f}")
    print(
        f"{'live delivery during the storm, p50 / p99':48} {_ms(result['p50_live_ms'])} / {_ms(result['p99_live_ms'])}"
        f"  ({result['live_frames']} frames on streams already back)"
    )
    print(f"{'live delivery before the kill, p99':48} {_ms(result['p99_before_ms'])}")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


if __name__ == "__main__":
    main()
