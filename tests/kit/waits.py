"""Waiting on a condition or a server, never for a fixed time: the ceilings only catch a hang.

The default ceilings here (30-60 s) only catch a hang: what they wait for takes a second or two on
a quiet machine, and several times that beside a loaded one (`make flake-hunt`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from tests.kit import web


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy (and return that); fail the test after `timeout`."""
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
        return web.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class ChildProcess(Protocol):
    """What a wait needs of a process: a `subprocess.Popen`, or a forked hub (`hub_forks.ForkedHub`)."""

    @property
    def args(self) -> Any: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...


def wait_answering(process: ChildProcess, url: str, log: Callable[[], str], timeout: float = 60.0) -> None:
    """Wait until `url` answers 200; fail with the process's log if it exits first."""

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{log()}")
        return answers(url)

    wait_until(answering, timeout)
