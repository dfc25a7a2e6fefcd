"""The hub's uvicorn server: on SIGTERM/SIGINT every SSE stream ends first, and `on_ready` once it accepts connections.

Apart from `agentchat/cli.py`, so that the commands that serve nothing (`db`, `run`, `check`, `scheduler`,
`--help`, a setting refused at start) do not import uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

__all__ = ["HubServer"]


class HubServer(uvicorn.Server):
    """uvicorn, plus: on SIGTERM/SIGINT end every SSE stream first, so shutdown is not held up by them;
    and `on_ready` once it accepts connections (what `agentchat run` waits for, see `--ready-fd`)."""

    def __init__(
        self, config: uvicorn.Config, on_exit: Callable[[], None], on_ready: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # no loop yet: nothing to close
            asyncio.get_running_loop().call_soon_threadsafe(self._on_exit)
        super().handle_exit(sig, frame)
