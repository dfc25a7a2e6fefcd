"""A real hub on a port of its own for a test or a bench: in this process, or as `python -m agentchat hub`.

Nothing here stands in for agentchat's own parts. `InProcessHub` is the hub's own ASGI app
served by uvicorn in a thread of the test process, on a real socket (as httpx's own tests
serve theirs): the same code as `python -m agentchat hub`, for a fraction of a subprocess's
start-up. `HubProcess` is `python -m agentchat hub` in a subprocess, for the tests where the
process boundary is the point (kill -9, SIGSTOP, SIGTERM, the log); the suite's are forked from a
server that imported the hub once (`hub_forks.py`). The database is a real SQLite file or the
local PostgreSQL.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from agentchat.contract import HEALTH_PATH
from agentchat.hub.app import HubApp, create_app
from agentchat.hub.server import HubServer
from agentchat.hub.sockets.protocols import http_protocol
from agentchat.settings import Settings
from tests.kit.http import HubClientMixin
from tests.kit.hub_forks import ForkedHub
from tests.kit.paths import ROOT
from tests.kit.ports import bound_socket
from tests.kit.waits import wait_answering, wait_until

LOGGERS = ("agentchat", "uvicorn.error")  # what an in-process hub's log() collects
# The most AGENTCHAT_GENERATE_PER_MINUTE allows: bench/ posts rounds far faster than the product's bound of 60 a minute.
UNBOUNDED = 100_000
STARTED_LINE = re.compile(r"accepting connections on \S+:(\d+)$", re.MULTILINE)  # what `agentchat hub` logs once up


def hub_env(database_url: str, **settings: Any) -> dict[str, str]:
    """The environment of a hub subprocess: ours, minus any AGENTCHAT_ variable, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
    env["AGENTCHAT_DATABASE_URL"] = database_url
    env["AGENTCHAT_HEARTBEAT_SECONDS"] = "30"
    for key, value in settings.items():
        env[f"AGENTCHAT_{key.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


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
        self._loop.call_soon_threadsafe(self._server.exit_soon)
        self._thread.join(15)
        if self._thread.is_alive():
            raise AssertionError(f"in-process hub on {self.url} did not stop within 15 s")


class HubProcess(HubClientMixin):
    """`python -m agentchat hub` with its output in a log file: on port 0 unless given, read back from its log.

    `port` (and `url`) wait for the start-up line that names the port, so several hubs started with
    `wait=False` start side by side. A process started again (`start()` after `terminate()`/`kill()`)
    comes back on the port it had. `forked`: the same command forked from a server that imported the
    hub once (`hub_forks.py`), for the suite; the benches start it from a fresh interpreter, as shipped.
    """

    def __init__(
        self, database_url: str, log_dir: Path, port: int | None = None, forked: bool = False, **settings: Any
    ) -> None:
        self._port = port or 0
        self.env = hub_env(database_url, hub_port=self._port, **settings)
        self.log_path = log_dir / f"hub-{port or 'any'}-{time.monotonic_ns()}.log"
        self.forked = forked
        self.process: subprocess.Popen[bytes] | ForkedHub | None = None

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
        if self.forked:
            self.process = ForkedHub(self.env, self.log_path, ROOT)
        else:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "agentchat", "hub"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
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
