"""`agentchat hub` processes forked from a server that imported the hub once, for the suite's many hub starts.

A hub process started here runs the product's own command, `agentchat.cli.main(["hub"])`, in a
process of its own, with its own environment, working directory and log file, as `python -m
agentchat hub` does: kill -9, SIGSTOP, SIGTERM and its log mean the same. What differs is where its
imports come from. From a fresh interpreter a hub spends about 0.4 s of its 0.5 s start-up
importing (SQLAlchemy, alembic, pydantic, uvicorn, the hub's own modules), and the suite starts
about 45 of them; forked from multiprocessing's fork server, which imported them once per test
worker, a hub starts with them in place. The tests whose subject is the command line itself
(`test_settings.py`, the supervisor's, the CLI's own) start `python -m agentchat` as before.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import types
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ForkedHub"]

# Imported once by the fork server: what `agentchat hub` imports before it serves (cli.run_hub).
PRELOAD = [
    "agentchat.cli",
    "agentchat.hub.app",
    "agentchat.hub.gc_policy",
    "agentchat.hub.limits",
    "agentchat.hub.server",
    "agentchat.hub.sockets.protocols",
    "agentchat.migrate",
    "agentchat.store",
    "uvicorn",
]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _serve(env: dict[str, str], log_path: str, cwd: str) -> None:
    """The forked process: the hub's environment, directory and log in place, then `agentchat hub`."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, sys.stdout.fileno())
    os.dup2(log, sys.stderr.fileno())
    os.close(log)
    from agentchat.cli import main

    code = main(["hub"])
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(code)


class ForkedHub:
    """The part of `subprocess.Popen` the suite uses (`pid`, `poll`, `wait`, signals), for a forked hub."""

    def __init__(self, env: Mapping[str, str], log_path: Path, cwd: Path) -> None:
        self.args = ["agentchat", "hub", f"(forked, log {log_path})"]
        # daemon: a hub a test left running is stopped when its worker exits, not waited for
        self._process = _CONTEXT.Process(target=_serve, args=(dict(env), str(log_path), str(cwd)), daemon=True)
        # multiprocessing runs this process's main script again in the child (as `__mp_main__`), and after a
        # Streamlit AppTest in this worker that script is the dashboard's app.py: the hub needs none of it.
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self._process.start()
        finally:
            sys.modules["__main__"] = main
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode  # negative: the signal that ended it, as Popen's

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self.returncode
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # never a signal to a pid that may have been handed on
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
