"""The hub's uvicorn server: on SIGTERM/SIGINT every SSE stream ends first, `on_ready` once it accepts connections,
and its own loop woken once a second.

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

__all__ = ["TICK_SECONDS", "HubServer"]

TICK_SECONDS = 1.0  # how often the server's own loop wakes (uvicorn's wakes ten times a second)


class HubServer(uvicorn.Server):
    """uvicorn, plus: on SIGTERM/SIGINT end every SSE stream first, so shutdown is not held up by them;
    `on_ready` once it accepts connections (what `agentchat run` waits for, see `--ready-fd`); and its
    own loop woken once a second, not ten times.

    uvicorn's loop only refreshes the `Date` header (once a second) and looks whether it should exit;
    polling that ten times a second was most of an idle hub's CPU, which `bench/fanout.py` charges to
    every delivery. Here the loop ticks once a second and an exit wakes it at once (`exit_soon`).
    """

    def __init__(
        self, config: uvicorn.Config, on_exit: Callable[[], None], on_ready: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._on_ready = on_ready
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def main_loop(self) -> None:
        wake = self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), TICK_SECONDS)
            counter = (counter + 10) % 864000  # uvicorn's on_tick does its once-a-second work at multiples of 10
            should_exit = await self.on_tick(counter)

    def exit_soon(self) -> None:
        """Stop serving, from the server's event loop (`call_soon_threadsafe` from elsewhere)."""
        self.should_exit = True
        if self._wake is not None:
            self._wake.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        with contextlib.suppress(RuntimeError):  # no loop yet: nothing to close
            loop = asyncio.get_running_loop()
            loop.call_soon_threadsafe(self._on_exit)
            loop.call_soon_threadsafe(self.exit_soon)
