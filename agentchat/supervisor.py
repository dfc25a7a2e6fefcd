"""`agentchat run` (`python -m agentchat run`): the hub, the scheduler and the dashboard as one command.

The hub starts first; the scheduler and the dashboard start once the hub says it is up, so the
scheduler's first round is not spent on retries and the dashboard does not open on an error.
Something else may answer on the hub's port (another hub, or a process that took the port while
ours started): a 200 from `/healthz` proves nothing about who answered. So the supervisor hands
the hub the write end of a pipe (`agentchat hub --ready-fd N`); the hub binds its port before any
other start-up work (a taken port ends it at once with one line saying so) and writes `ready PORT
PID` there once it accepts connections. Only that line, which no other process can write, starts
the scheduler and the dashboard, against the port it names.

Each child also ends when the supervisor does, even when the supervisor is killed with SIGKILL and
can stop nothing (`--supervised-by`, `lifeline.py`).
Every child is `python -m agentchat hub | scheduler | dashboard` under this process's interpreter
(`sys.executable`): the installed package is the whole program, so the supervisor needs no script
path, no source checkout and no `PYTHONPATH`, and runs the same from any directory.
Each child's output comes through line by line with its name in front (`hub       | ...`).

Each child runs in a process group of its own. A Ctrl-C in the terminal therefore reaches only this
supervisor, which stops the children itself: SIGTERM to every group (the hub ends its streams and
finishes requests in flight), then SIGKILL to whatever is left after `stop_timeout_seconds`. Killing
the groups rather than the pids also takes down anything a child started. A second Ctrl-C skips the
wait. When a child exits on its own the supervisor says which and with what code, stops the others
and exits non-zero: half a system that looks alive is worse than none.

The children read the same environment and `.env` as this process; the supervisor only fixes where
the hub listens and tells the other two where to find it (`AGENTCHAT_HUB_URL`), so they always talk
to the hub it started. The dashboard listens on `AGENTCHAT_DASHBOARD_HOST` (loopback by default, whatever
the hub's address): it holds the hub's token, so beyond loopback it needs Streamlit's login (see
`dashboard/access.py`), and without one it shows a single line saying so.

Signal handlers only record the signal; the main loop, which polls anyway, acts on it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import IO

import httpx

from agentchat.contract import HEALTH_PATH, METRICS_PATH, STREAM_PATH
from agentchat.settings import Settings
from agentchat.transport import shared_tls

__all__ = ["Child", "HubReady", "Output", "Supervisor", "describe_exit", "local_url", "run_all"]

DASHBOARD_PORT = 8501
HUB_READY_TIMEOUT_SECONDS = 60.0
DASHBOARD_READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.1
NAME_WIDTH = 9  # "scheduler", "dashboard", "agentchat"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """Unwinds `Supervisor.run` to the stop of every child; `status` is the supervisor's exit status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Output:
    """Writes whole lines with a name in front; one lock, so lines from different children never mix."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop a stop
            self._stream.write(f"{name:<{NAME_WIDTH}} | {text}\n")
            self._stream.flush()


@dataclass
class Child:
    """One child process, leader of its own process group, its output relayed by a thread."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    relay: threading.Thread | None = None

    def start(self, env: dict[str, str], output: Output, pass_fds: tuple[int, ...] = ()) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            pass_fds=pass_fds,
        )
        self.relay = threading.Thread(target=self._relay, args=(output,), name=f"relay-{self.name}", daemon=True)
        self.relay.start()

    def _relay(self, output: Output) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout as lines:
            for raw in iter(lines.readline, b""):
                output.line(self.name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal_group(self, sig: signal.Signals) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def reap(self) -> int | None:
        if self.process is None:
            return None
        code = self.process.wait()
        if self.relay is not None:
            self.relay.join(5)
        return code


def describe_exit(code: int) -> str:
    """`code 1`, or for a process ended by a signal (Popen's negative codes) `signal SIGKILL`."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


def local_url(host: str, port: int) -> str:
    """How a process on this machine reaches a server bound to `host` (a wildcard means loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"http://{host}:{port}"


def _answers_200(url: str) -> bool:
    """Whether `url` answers 200 within a second; polled while a child starts, so no TLS context per call."""
    try:
        return httpx.get(url, timeout=1.0, verify=shared_tls()).status_code == 200
    except httpx.HTTPError:
        return False


class HubReady:
    """The read end of the hub's ready pipe: `ready()` is True once the hub wrote `ready PORT PID`."""

    def __init__(self, read_end: int, hub_pid: int) -> None:
        self._fd = read_end
        self._hub_pid = hub_pid
        self._received = b""
        self.port: int | None = None
        os.set_blocking(read_end, False)

    def ready(self) -> bool:
        if self.port is not None:
            return True
        with contextlib.suppress(BlockingIOError):
            self._received += os.read(self._fd, 256)
        line, newline, _rest = self._received.partition(b"\n")
        if not newline:
            return False
        words = line.decode("ascii", "replace").split()
        if len(words) == 3 and words[0] == "ready" and words[1].isdigit() and words[2] == str(self._hub_pid):
            self.port = int(words[1])
            return True
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class Supervisor:
    """Starts the children in order, relays their output, and stops them all together."""

    def __init__(
        self,
        settings: Settings,
        *,
        dashboard_port: int = DASHBOARD_PORT,
        dashboard: bool = True,
        stop_timeout_seconds: float = STOP_TIMEOUT_SECONDS,
        output: IO[str] | None = None,
    ) -> None:
        self.settings = settings
        self.output = Output(output or sys.stdout)
        self.hub_url = local_url(settings.hub_host, settings.hub_port)
        self.dashboard_url = local_url(settings.dashboard_host, dashboard_port)
        self.dashboard_port = dashboard_port
        self.dashboard = dashboard
        self.stop_timeout_seconds = stop_timeout_seconds
        self.children: list[Child] = []
        self.signals: list[int] = []

    def say(self, text: str) -> None:
        self.output.line("agentchat", text)

    def run(self) -> int:
        with self._signals_recorded():
            try:
                return self._run()
            except _Stop as stop:
                return stop.status
            finally:
                self._stop_all()

    @contextlib.contextmanager
    def _signals_recorded(self) -> Iterator[None]:
        def record(signum: int, _frame: FrameType | None) -> None:
            self.signals.append(signum)

        previous = {sig: signal.signal(sig, record) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            AGENTCHAT_HUB_HOST=self.settings.hub_host,
            AGENTCHAT_HUB_PORT=str(self.settings.hub_port),
            AGENTCHAT_HUB_URL=self.hub_url,
            PYTHONUNBUFFERED="1",
        )
        return env

    def _start(self, name: str, arguments: list[str], pass_fds: tuple[int, ...] = ()) -> Child:
        """`python -m agentchat NAME ARGUMENTS...` as a child, its lines relayed under `name`."""
        supervised = ["--supervised-by", str(os.getpid())]  # it ends with us, even on SIGKILL
        child = Child(name, [sys.executable, "-m", "agentchat", *supervised, name, *arguments])
        child.start(self._env(), self.output, pass_fds)
        self.children.append(child)
        return child

    def _start_hub(self) -> tuple[Child, HubReady]:
        read_end, write_end = os.pipe()
        try:
            arguments = ["--host", self.settings.hub_host, "--port", str(self.settings.hub_port)]
            hub = self._start("hub", [*arguments, "--ready-fd", str(write_end)], pass_fds=(write_end,))
        finally:
            os.close(write_end)  # the hub holds the only write end: what arrives is from our hub
        return hub, HubReady(read_end, hub.pid)

    def _run(self) -> int:
        hub, announced = self._start_hub()
        self.say(f"hub starting on {self.hub_url} (pid {hub.pid})")
        try:
            ready = self._wait_for(announced.ready, HUB_READY_TIMEOUT_SECONDS)
        finally:
            announced.close()
        if not ready:
            self.say(f"the hub did not say it was up within {HUB_READY_TIMEOUT_SECONDS:g} s")
            return 1
        assert announced.port is not None
        self.hub_url = local_url(self.settings.hub_host, announced.port)  # what our hub bound, not what answers
        if not self._wait_for(lambda: _answers_200(f"{self.hub_url}{HEALTH_PATH}"), HUB_READY_TIMEOUT_SECONDS):
            self.say(f"the hub did not answer {self.hub_url}{HEALTH_PATH} within {HUB_READY_TIMEOUT_SECONDS:g} s")
            return 1
        self.say(f"hub ready: {self.hub_url} (stream {STREAM_PATH}, health {HEALTH_PATH}, metrics {METRICS_PATH})")

        scheduler = self._start("scheduler", [])
        self.say(
            f"scheduler started (pid {scheduler.pid}): a round now, then every {self.settings.schedule_minutes:g} min"
        )
        if not self.dashboard:
            self.say("no dashboard (--no-dashboard): running the hub and scheduler only")
            self.say(f"up: hub {self.hub_url}; Ctrl-C stops both")
        else:
            dashboard = self._start("dashboard", self._dashboard_options())
            self.say(f"dashboard starting on {self.dashboard_url} (pid {dashboard.pid})")
            health = f"{self.dashboard_url}/_stcore/health"
            ready = self._wait_for(lambda: _answers_200(health), DASHBOARD_READY_TIMEOUT_SECONDS)
            if not ready:
                self.say(f"the dashboard does not answer {health} yet; see its lines above")
            self.say(f"up: dashboard {self.dashboard_url}, hub {self.hub_url}; Ctrl-C stops all three")
        self._wait_for(lambda: False, None)
        return 0  # not reached: only a signal or a child's exit ends the wait

    def _dashboard_options(self) -> list[str]:
        """`streamlit run` options for `agentchat dashboard`: our port and address, no browser, no usage stats."""
        return [
            "--server.port",
            str(self.dashboard_port),
            "--server.address",
            self.settings.dashboard_host,
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]

    def _wait_for(self, condition: Callable[[], bool], timeout_seconds: float | None) -> bool:
        """True once `condition` holds, False at the timeout; `_Stop` when the whole system must stop.

        A stop signal stops with status 0; a child that exited, with 1, after saying which one and how.
        """
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        next_check = 0.0
        while True:
            if self.signals:
                self.say(f"stopping ({signal.Signals(self.signals[0]).name})")
                raise _Stop(0)
            for child in self.children:
                code = child.exit_code()
                if code is not None:
                    others = [other.name for other in self.children if other is not child]
                    stopping = f"; stopping {' and '.join(others)}" if others else ""
                    self.say(f"{child.name} exited with {describe_exit(code)}{stopping}")
                    raise _Stop(1)
            if time.monotonic() >= next_check:
                if condition():
                    return True
                next_check = time.monotonic() + 0.5
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(POLL_SECONDS)

    def _stop_all(self) -> None:
        running = [child for child in self.children if child.exit_code() is None]
        for child in running:
            child.signal_group(signal.SIGTERM)
        seen = len(self.signals)
        deadline = time.monotonic() + self.stop_timeout_seconds
        while any(child.exit_code() is None for child in running):
            late = ", ".join(child.name for child in running if child.exit_code() is None)
            if len(self.signals) > seen:
                self.say(f"killing {late} (asked twice)")
                break
            if time.monotonic() > deadline:
                self.say(f"killing {late} (not stopped within {self.stop_timeout_seconds:g} s of SIGTERM)")
                break
            time.sleep(POLL_SECONDS)
        for child in self.children:
            child.signal_group(signal.SIGKILL)  # whatever is left in each group, leader or not
        for child in running:
            code = child.reap()
            if code is not None:
                self.say(f"{child.name} stopped ({describe_exit(code)})")
        for child in self.children:
            child.reap()


def run_all(
    settings: Settings,
    *,
    dashboard_port: int = DASHBOARD_PORT,
    dashboard: bool = True,
    stop_timeout_seconds: float = STOP_TIMEOUT_SECONDS,
) -> int:
    """Run hub, scheduler and (unless `dashboard` is false) dashboard until Ctrl-C/SIGTERM (0) or one exits (1)."""
    settings.require_safe_bind()
    return Supervisor(
        settings,
        dashboard_port=dashboard_port,
        dashboard=dashboard,
        stop_timeout_seconds=stop_timeout_seconds,
    ).run()
