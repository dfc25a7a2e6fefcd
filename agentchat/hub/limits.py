"""How many streams one hub holds: the file-descriptor limit, raised at start, less a reserve.

Every SSE stream is a socket, and so is every API request and database connection. Without
a cap, streams past the process's descriptor limit are reset by the kernel and `/healthz`,
generate and messages become unreachable with nothing in the log. So the hub raises its soft
`RLIMIT_NOFILE` to the hard limit at start (`raise_fd_limit`), and accepts at most
`stream_cap(settings)` streams: `AGENTCHAT_MAX_STREAMS`, or the limit less `RESERVE_FDS` for
the API, the database pool, the listener and the log. A stream past the cap is answered like
any transient condition (200, `retry:`, `event: unavailable`), so a browser comes back later.
"""

from __future__ import annotations

import logging
import resource

from agentchat.settings import Settings

__all__ = ["RESERVE_FDS", "descriptor_budget", "fd_limit", "raise_fd_limit", "stream_cap"]

logger = logging.getLogger("agentchat.hub")

RESERVE_FDS = 64  # plus two per database connection the pool may open
_HARD_CEILING = 1 << 20  # an "unlimited" hard limit is raised only this far


def fd_limit() -> int:
    return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one (bounded); return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _HARD_CEILING if hard == resource.RLIM_INFINITY else min(hard, _HARD_CEILING)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            logger.info("file descriptor limit raised from %d to %d", soft, wanted)
        except (ValueError, OSError) as error:
            logger.warning("file descriptor limit stays at %d: %s", soft, error)
    return fd_limit()


def descriptor_budget(settings: Settings, limit: int | None = None) -> int:
    """The connections one hub may hold at once: the descriptor limit less the reserve (at least 1).

    Streams and connections still waiting for a request head share it (`hub/heads.py`).
    """
    reserve = RESERVE_FDS + 4 * settings.db_pool_size
    return max(1, (fd_limit() if limit is None else limit) - reserve)


def stream_cap(settings: Settings, limit: int | None = None) -> int:
    """`AGENTCHAT_MAX_STREAMS`, or the descriptor budget."""
    if settings.max_streams is not None:
        return settings.max_streams
    return descriptor_budget(settings, limit)
