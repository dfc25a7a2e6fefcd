"""`ConnectGate`: at most so many stream connects do their work per event-loop iteration.

In a reconnect storm thousands of connects are ready to run at once, and asyncio runs every ready
callback of an iteration before it looks at sockets again. A publish that arrives then waits
behind all of them, so live delivery to the streams already open would stall for as long as the
storm's backlog takes. The gate lets `per_tick` connects through per iteration and parks the rest
in a FIFO of futures (a parked connect costs nothing until its turn); the next iteration releases
the next `per_tick`. The other work of the loop (the fan-out, heartbeats, the write path) runs
between those slices. `AGENTCHAT_CONNECTS_PER_TICK` sets the slice; `bench/storm.py` prints the
live delivery latency it gives during a storm.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["ConnectGate"]


class ConnectGate:
    """Admits at most `per_tick` connects per event-loop iteration, first come first served."""

    def __init__(self, per_tick: int) -> None:
        self.per_tick = per_tick
        self.parked_total = 0  # connects that had to wait for a later iteration
        self._admitted = 0
        self._reset_scheduled = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._waiting)

    def try_admit(self) -> bool:
        """Admit now if this iteration has room and nobody waits (a connect served at once); else False."""
        if self._admitted < self.per_tick and not self._waiting:
            self._admitted += 1
            self._schedule_reset()
            return True
        return False

    async def admit(self) -> None:
        """Return at once while this iteration has room (the common case), else wait for a later one."""
        if not self.try_admit():
            await self.park()

    def park(self) -> asyncio.Future[None]:
        """A place at the back of the queue: the future is done when this connect is admitted (cancel it to leave)."""
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        self.parked_total += 1
        self._schedule_reset()
        return turn

    def _schedule_reset(self) -> None:
        if not self._reset_scheduled:
            self._reset_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_tick)

    def _next_tick(self) -> None:
        """A new iteration: release the next slice of parked connects."""
        self._reset_scheduled = False
        self._admitted = 0
        waiting = self._waiting
        while waiting and self._admitted < self.per_tick:
            turn = waiting.popleft()
            if not turn.done():  # a cancelled one (its client left) takes no slot
                turn.set_result(None)
                self._admitted += 1
        if waiting or self._admitted:
            self._schedule_reset()
