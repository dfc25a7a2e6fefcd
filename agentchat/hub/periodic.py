"""The hub's work on a timer rather than on a request: heartbeat frames and the history purge.

Each is a coroutine that runs until cancelled; the lifespan (`app.py`) starts one task of each
and cancels them at shutdown. They take the one part they drive, not the whole `Hub`.
"""

from __future__ import annotations

import asyncio
import logging

import anyio.to_thread

from agentchat.errors import StoreUnavailable
from agentchat.hub.fanout import Fanout
from agentchat.message import event_frame, format_timestamp, utc_now
from agentchat.store import Store

__all__ = ["heartbeat_forever", "purge_forever"]

logger = logging.getLogger("agentchat.hub")


async def heartbeat_forever(fanout: Fanout, period_seconds: float) -> None:
    """`event: heartbeat` to every live stream each period, so a client tells a quiet stream from a dead one."""
    while True:
        await asyncio.sleep(period_seconds)
        frame = event_frame("heartbeat", {"server_time": format_timestamp(utc_now()), "clients": len(fanout)})
        fanout.stats.heartbeats += fanout.broadcast(frame)


async def purge_forever(store: Store, retention_seconds: float, history_days: float) -> None:
    """Delete what history no longer keeps, every quarter of the retention period (at least 1 s, at most 60 s)."""
    period = min(60.0, max(1.0, retention_seconds / 4))
    while True:
        await asyncio.sleep(period)
        try:
            removed = await anyio.to_thread.run_sync(store.purge)
        except StoreUnavailable as error:
            logger.warning("history purge skipped: %s", error.detail)
            continue
        if removed:
            logger.info("history purge removed %d messages older than %g days", removed, history_days)
