"""Test support: a real hub on a port of its own, in this process or in its own, and a background SSE reader.

Nothing here stands in for agentchat's own parts. `InProcessHub` is the hub's own ASGI app
served by uvicorn in a thread of the test process, on a real socket (as httpx's own tests
serve theirs): the same code as `python -m agentchat hub`, for a fraction of a subprocess's
start-up. `HubProcess` is `python -m agentchat hub` in a subprocess, for the tests where the
process boundary is the point (kill -9, SIGSTOP, SIGTERM, the log). The database is a real
SQLite file or the local PostgreSQL, and streams are read with sseclient-py over a real socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import sseclient
import uvicorn

from agentchat.cli import HubServer
from agentchat.contract import GENERATE_PATH, HEALTH_PATH, MESSAGES_PATH, METRICS_PATH
from agentchat.hub.app import HubApp, create_app
from agentchat.hub.sockets.protocols import http_protocol
from agentchat.settings import Settings
from agentchat.store import messages_table

ROOT = Path(__file__).resolve().parent.parent
LOGGERS = ("agentchat", "uvicorn.error")  # what an in-process hub's log() collects
# The most AGENTCHAT_GENERATE_PER_MINUTE allows: bench/ posts rounds far faster than the product's bound of 60 a minute.
UNBOUNDED = 100_000
DASHBOARD_CONFIG = ROOT / "agentchat" / "dashboard" / "scripts" / ".streamlit" / "config.toml"


def shipped_dashboard_address() -> str:
    """The `server.address` the dashboard's own config.toml sets: what a Streamlit AppTest, which reads no
    script-level config, must be given to stand for a dashboard started as shipped."""
    return str(tomllib.loads(DASHBOARD_CONFIG.read_text())["server"]["address"])


# A hub binds port 0 and the test reads the port back (`InProcessHub`: a socket bound here and handed to
# uvicorn; `HubProcess`: `--port 0` and the port its log names), so no port is checked free and bound later.
# What cannot bind port 0 (Streamlit, nginx, a hub told a port it must come back on) takes a port from
# `free_port`: each pytest-xdist worker hands out ports from its own block below the kernel's ephemeral
# range (32768-60999), which port-0 binds never reach, starting at a random place in its block so that
# two suites on one machine seldom meet.
PORT_BLOCK_START = 20_000
PORT_BLOCK_SIZE = 2_000
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_worker_index = int(_worker[2:]) if _worker.startswith("gw") and _worker[2:].isdigit() else 0
_port_lock = threading.Lock()
_port_offset = random.randrange(PORT_BLOCK_SIZE)
STARTED_LINE = re.compile(r"accepting connections on \S+:(\d+)$", re.MULTILINE)  # what `agentchat hub` logs once up


def free_port() -> int:
    """A port nothing listens on now, from this test process's own block (no other test process is given it)."""
    global _port_offset
    block = PORT_BLOCK_START + (_worker_index % ((32_768 - PORT_BLOCK_START) // PORT_BLOCK_SIZE)) * PORT_BLOCK_SIZE
    with _port_lock:
        for _ in range(PORT_BLOCK_SIZE):
            port = block + _port_offset
            _port_offset = (_port_offset + 1) % PORT_BLOCK_SIZE
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue  # in use (or lingering in TIME_WAIT): the next one
                return port
    raise AssertionError(f"no free port in {block}-{block + PORT_BLOCK_SIZE - 1}")


def bound_socket(port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on loopback, bound here (port 0: the kernel's choice), for uvicorn to serve."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is reusable
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port`, read from the kernel (/proc/net/tcp, tcp6)."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, _, port_hex = local.partition(":")
                if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, packed))
    return found


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy; fail the test after `timeout`.

    The default ceilings here (30-60 s) only catch a hang: what they wait for takes a second or two on
    a quiet machine, and several times that beside a loaded one (`make flake-hunt`).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def answers(url: str) -> bool:
    """Whether `url` answers 200 within a second (a refused or silent server does not)."""
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_answering(process: subprocess.Popen[bytes], url: str, log: Callable[[], str], timeout: float = 60.0) -> None:
    """Wait until `url` answers 200; fail with the process's log if it exits first."""

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{log()}")
        return answers(url)

    wait_until(answering, timeout)


def hub_env(database_url: str, **settings: Any) -> dict[str, str]:
    """The environment of a hub subprocess: ours, minus any AGENTCHAT_ variable, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
    env["AGENTCHAT_DATABASE_URL"] = database_url
    env["AGENTCHAT_HEARTBEAT_SECONDS"] = "30"
    for key, value in settings.items():
        env[f"AGENTCHAT_{key.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class HubClientMixin:
    """What tests ask of any hub, in a process or not: a round, the messages, a metric."""

    url: str

    def generate(self, agents: Iterable[str] | None = None, **headers: str) -> httpx.Response:
        body = {"agents": list(agents)} if agents is not None else None
        return httpx.post(f"{self.url}{GENERATE_PATH}", json=body, headers=headers, timeout=30)

    def messages(self, **params: Any) -> dict[str, Any]:
        response = httpx.get(f"{self.url}{MESSAGES_PATH}", params=params, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.url}{METRICS_PATH}", timeout=10).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"metric {name} not in {METRICS_PATH}")


class InProcessHub(HubClientMixin):
    """The hub's ASGI app under uvicorn in a thread of this process, on a socket bound here (port 0 unless given).

    The thread runs uvicorn's own loop factory (uvloop where installed, as `agentchat hub` does)
    and the same `HubServer`; `stop()` ends every stream first, as SIGTERM does in a hub process.
    """

    def __init__(self, database_url: str, port: int | None = None, **settings: Any) -> None:
        self._socket = bound_socket(port or 0)
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        values: dict[str, Any] = {"heartbeat_seconds": 30, "access_log": False, **settings}
        self.settings = Settings(_env_file=None, database_url=database_url, hub_port=self.port, **values)
        self.env = hub_env(database_url, hub_port=self.port, **values)
        self.app: HubApp | None = None
        self._server: HubServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: Any = None
        self._log = io.StringIO()
        self._log_handler = logging.StreamHandler(self._log)
        self._log_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def start(self, wait: bool = True) -> InProcessHub:
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self._log_handler)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.INFO)  # what `agentchat hub` logs
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            http=http_protocol(self.settings.hub_http),  # the hub's own bounded protocols, as `agentchat hub`
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        loop_factory = config.get_loop_factory()
        self._loop = loop_factory() if loop_factory else asyncio.new_event_loop()
        self._server = HubServer(config, on_exit=self.app.hub.fanout.close_all)
        if self._socket.fileno() == -1:  # started again after a stop: the same port, bound anew
            self._socket = bound_socket(self.port)
        self._thread = threading.Thread(target=self._serve, name=f"hub-{self.port}", daemon=True)
        self._thread.start()
        if wait:
            self.wait_healthy()
        return self

    def _serve(self) -> None:
        assert self._server is not None
        try:
            self._loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        finally:
            self._loop.close()
            self._socket.close()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        def started() -> bool:
            assert self._server is not None and self._thread is not None
            if not self._thread.is_alive():
                raise AssertionError(f"in-process hub on {self.url} stopped before it started")
            return bool(self._server.started)

        wait_until(started, timeout, interval=0.01)

    def log(self) -> str:
        """What the hub's loggers wrote while it ran (with any other hub of this test running beside it)."""
        return self._log.getvalue()

    def stop(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(self._log_handler)
        if self._server is None or self._thread is None or not self._thread.is_alive():
            self._socket.close()  # never served (or served and stopped): the port goes
            return
        assert self.app is not None
        self._loop.call_soon_threadsafe(self.app.hub.fanout.close_all)
        self._server.should_exit = True
        self._thread.join(15)
        if self._thread.is_alive():
            raise AssertionError(f"in-process hub on {self.url} did not stop within 15 s")


class HubProcess(HubClientMixin):
    """`python -m agentchat hub` with its output in a log file: on port 0 unless given, read back from its log.

    `port` (and `url`) wait for the start-up line that names the port, so several hubs started with
    `wait=False` start side by side. A process started again (`start()` after `terminate()`/`kill()`)
    comes back on the port it had.
    """

    def __init__(self, database_url: str, log_dir: Path, port: int | None = None, **settings: Any) -> None:
        self._port = port or 0
        self.env = hub_env(database_url, hub_port=self._port, **settings)
        self.log_path = log_dir / f"hub-{port or 'any'}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if not self._port:
            self._port = self._bound_port()
            self.env["AGENTCHAT_HUB_PORT"] = str(self._port)  # a restart comes back where clients look for it
        return self._port

    @property
    def url(self) -> str:  # type: ignore[override]
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> HubProcess:
        """Start the process; with `wait=False`, return at once (`port` and `url` wait for the port)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentchat", "hub"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait:
            self.wait_healthy()
        return self

    def _bound_port(self, timeout: float = 60.0) -> int:
        """The port uvicorn's start-up line names (it logs the kernel's choice for port 0)."""
        if self.process is None:
            raise AssertionError("the hub process has no port before it is started")
        process = self.process

        def named() -> int | None:
            found = STARTED_LINE.search(self.log())
            if found:
                return int(found.group(1))
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{self.log()}")
            return None

        return int(wait_until(named, timeout, interval=0.02))

    def wait_healthy(self, timeout: float = 60.0) -> None:
        assert self.process is not None
        wait_answering(self.process, f"{self.url}{HEALTH_PATH}", self.log, timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Event:
    event: str
    data: Any
    id: str | None


@dataclass
class SseReader:
    """Reads one SSE stream in a thread with sseclient-py over httpx; events land in a queue."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    ended: threading.Event = field(default_factory=threading.Event)
    response: httpx.Response | None = None
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=httpx.Timeout(60, connect=5)))

    def start(self) -> SseReader:
        request = self._client.build_request("GET", self.url, headers=self.headers)
        self.response = self._client.send(request, stream=True)
        self.response.raise_for_status()
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.response is not None
        try:
            for event in sseclient.SSEClient(self.response.iter_raw()).events():
                self.events.put(Event(event.event, json.loads(event.data) if event.data else None, event.id))
        except (httpx.HTTPError, OSError, ValueError, RuntimeError):
            pass
        finally:
            self._client.close()  # the stream ended: its connection goes, not back to a pool
            self.ended.set()

    def next(self, kind: str | None = None, timeout: float = 30.0) -> Event:
        """The next event (of type `kind`, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind is None or event.event == kind:
                return event

    def messages(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        return [self.next("message", timeout).data for _ in range(count)]

    def until_message(self, marker_id: int, timeout: float = 20.0) -> list[Event]:
        """Every event before the message `marker_id`, which is dropped: "nothing more came" without a quiet period.

        A stream sends messages in id order, so a marker made after whatever must not arrive comes after
        it on the stream: what arrived before the marker is everything that arrived at all.
        """
        found: list[Event] = []
        while True:
            event = self.next(timeout=timeout)
            if event.event == "message" and int(event.id or 0) == marker_id:
                return found
            found.append(event)

    def until_heartbeat(self, timeout: float = 20.0) -> list[Event]:
        """Every event before the next heartbeat: after `ready`, the replay (a hub beats only live streams)."""
        found: list[Event] = []
        while (event := self.next(timeout=timeout)).event != "heartbeat":
            found.append(event)
        return found

    def until_end(self, timeout: float = 20.0) -> list[Event]:
        """Every event still to be read once the stream has ended (the hub closed it): the end is the marker."""
        if not self.ended.wait(timeout):
            raise AssertionError(f"the stream did not end within {timeout} s")
        found: list[Event] = []
        with contextlib.suppress(queue.Empty):
            while True:
                found.append(self.events.get_nowait())
        return found

    def drain(self, settle: float = 0.3, limit: float = 30.0) -> list[Event]:
        """Everything that arrives until no event but heartbeats came for `settle` seconds.

        Not a way to show that nothing more came (a loaded machine delays what would come past any
        quiet period): for that, `until_message` with a marker, `until_heartbeat` or `until_end`.
        """
        found: list[Event] = []
        deadline = time.monotonic() + limit
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle and time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=settle / 4)
            except queue.Empty:
                continue
            found.append(event)
            if event.event != "heartbeat":
                quiet_since = time.monotonic()
        return found

    def close(self) -> None:
        """Shut the socket first: it wakes the reading thread at once, heartbeat or not."""
        if self.response is None:
            return
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(httpx.HTTPError, RuntimeError):
            self.response.close()
        self._client.close()


def age_messages(database_url: str, seconds: float) -> None:
    """Move every stored message `seconds` into the past: retention tested by the store's clock, not by waiting.

    A hub reads its window from the store when it starts, so start the hub that must see the old
    messages after this.
    """
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        rows = connection.execute(sa.select(messages_table.c.id, messages_table.c.created_at)).all()
        for row in rows:
            connection.execute(
                messages_table.update()
                .where(messages_table.c.id == row.id)
                .values(created_at=row.created_at - timedelta(seconds=seconds))
            )
    engine.dispose()


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Stop a server started with `subprocess.Popen`: SIGTERM and up to 15 s to drain, then SIGKILL."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
