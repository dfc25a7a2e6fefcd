"""`python -m agentchat run`: hub, scheduler and dashboard come up together and go down together.

The supervisor runs as its own process, `python -m agentchat run` as `make run` starts it, with its
ports from the environment; most tests run it from an empty directory, to show that its children
need nothing from the checkout, and without the dashboard (`--no-dashboard`) where the dashboard is
not what they are about. Which processes exist is read from `/proc`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentchat.agents import BUILTIN_ROSTER
from tests.kit import web
from tests.kit.hubs import hub_env
from tests.kit.netstat import listening_addresses
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.waits import wait_until

# The scheduler's first round after `agentchat run` starts three processes: a ceiling for a hang, not a latency.
FIRST_ROUND_CEILING = 120.0


def process_state(pid: int) -> str | None:
    """The state letter from /proc/PID/stat, or None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return process_state(pid) not in (None, "Z")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from the parent links in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {child for child in found if alive(child)}


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    log_path: Path
    hub_url: str
    dashboard_url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"run exited with {self.process.returncode}:\n{self.log()}")
            return text in self.log()

        wait_until(seen, timeout, interval=0.1)

    def child_pid(self, name: str) -> int:
        found = re.search(rf"{name} start\w* .*?\(pid (\d+)\)", self.log())
        assert found, self.log()
        return int(found.group(1))

    def messages(self) -> list[object]:
        return list(web.get(f"{self.hub_url}/api/chat/messages", timeout=5).json()["messages"])


@pytest.fixture
def start_run(tmp_path: Path, sqlite_url: str) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(dashboard: bool = False, hub_port: int | None = None) -> Run:
        hub_port = hub_port or free_port()
        dashboard_port = free_port()
        env = hub_env(sqlite_url, hub_port=hub_port, dashboard_port=dashboard_port)
        log_path = tmp_path / f"run-{len(runs)}.log"
        options = [] if dashboard else ["--no-dashboard"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "agentchat", "run", *options],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        run = Run(process, log_path, f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{dashboard_port}")
        runs.append(run)
        return run

    yield start
    for run in runs:
        left = descendants(run.process.pid)
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait(10)
        for pid in left:  # only after a failed test: a passing one leaves nothing behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_run_brings_up_hub_scheduler_and_dashboard_and_sigint_leaves_no_process(
    start_run: Callable[..., Run],
) -> None:
    run = start_run(dashboard=True)
    run.wait_for_line("Ctrl-C stops all three")
    assert web.get(f"{run.hub_url}/healthz", timeout=5).status_code == 200
    assert web.get(f"{run.dashboard_url}/_stcore/health", timeout=5).status_code == 200
    assert listening_addresses(int(run.dashboard_url.rsplit(":", 1)[1])) == {"127.0.0.1"}  # the default host
    # the first round, unasked
    wait_until(lambda: len(run.messages()) == len(BUILTIN_ROSTER), timeout=FIRST_ROUND_CEILING)
    children = descendants(run.process.pid)
    assert {run.child_pid("hub"), run.child_pid("scheduler"), run.child_pid("dashboard")} <= children

    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(30) == 0
    assert not [pid for pid in children if alive(pid)]
    log = run.log()
    for name in ("hub", "scheduler", "dashboard"):
        assert re.search(rf"^{name} +\| \S", log, re.MULTILINE), f"no prefixed {name} line in:\n{log}"
        assert f"{name} stopped" in log


def test_the_run_command_serves_the_real_dashboard_and_stops_everything_on_sigint(
    tmp_path: Path, sqlite_url: str
) -> None:
    """`python -m agentchat run` itself, as `make run` calls it, with app.py; ports from the environment."""
    hub_port, dashboard_port = free_port(), free_port()
    env = hub_env(sqlite_url, hub_port=hub_port, hub_url=f"http://127.0.0.1:{hub_port}", dashboard_port=dashboard_port)
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentchat", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    run = Run(process, log_path, f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{dashboard_port}")
    try:
        run.wait_for_line("Ctrl-C stops all three")
        assert web.get(f"{run.dashboard_url}/_stcore/health", timeout=5).status_code == 200
        wait_until(lambda: len(run.messages()) == len(BUILTIN_ROSTER), timeout=FIRST_ROUND_CEILING)
        children = descendants(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert not [pid for pid in children if alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_run_without_the_dashboard_says_so_and_runs_hub_and_scheduler(start_run: Callable[..., Run]) -> None:
    run = start_run()
    run.wait_for_line("Ctrl-C stops both")
    assert "no dashboard (--no-dashboard)" in run.log()
    wait_until(lambda: len(run.messages()) == len(BUILTIN_ROSTER), timeout=FIRST_ROUND_CEILING)
    children = descendants(run.process.pid)
    assert len(children) == 2

    run.process.send_signal(signal.SIGTERM)
    assert run.process.wait(30) == 0
    assert not [pid for pid in children if alive(pid)]


def test_when_a_child_dies_run_names_it_stops_the_others_and_exits_nonzero(start_run: Callable[..., Run]) -> None:
    run = start_run()
    run.wait_for_line("Ctrl-C stops both")
    hub_pid = run.child_pid("hub")
    os.kill(run.child_pid("scheduler"), signal.SIGKILL)
    assert run.process.wait(30) == 1
    assert "scheduler exited with signal SIGKILL; stopping hub" in run.log()
    assert not alive(hub_pid)


def test_run_exits_nonzero_without_starting_the_others_when_the_hub_cannot_start(
    start_run: Callable[..., Run],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = start_run(hub_port=taken.getsockname()[1])
        assert run.process.wait(60) == 1
    log = run.log()
    assert re.search(r"hub exited with code [1-9]", log), log
    assert "scheduler" not in log


class Impostor:
    """Another HTTP server on the hub's port: answers 200 to everything and records what was posted to it."""

    def __init__(self) -> None:
        posted: list[str] = []
        self.posted = posted

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                posted.append(self.path)
                self._answer()

            def _answer(self) -> None:
                body = b'{"status": "ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def test_run_starts_nothing_against_another_server_that_answers_on_its_port(start_run: Callable[..., Run]) -> None:
    impostor = Impostor()
    try:
        run = start_run(hub_port=impostor.port)
        assert run.process.wait(60) == 1
    finally:
        impostor.close()
    log = run.log()
    assert "another process has this port" in log and "AGENTCHAT_HUB_PORT" in log, log
    assert "hub ready" not in log and "scheduler started" not in log, log
    assert impostor.posted == []


def test_a_sigkilled_supervisor_leaves_no_hub_or_scheduler_running(start_run: Callable[..., Run]) -> None:
    run = start_run()
    run.wait_for_line("Ctrl-C stops both")
    children = {run.child_pid("hub"), run.child_pid("scheduler")}
    run.process.kill()
    run.process.wait(10)
    wait_until(lambda: not [pid for pid in children if alive(pid)], timeout=30)
