"""`follow(parent_pid)`: a supervised process ends when its supervisor does, even one killed with SIGKILL.

`agentchat run` stops its children itself on SIGINT/SIGTERM, but a supervisor killed with SIGKILL
(or by the OOM killer) runs no code at all: without this, its hub and scheduler would keep serving
and posting rounds with nobody watching them. Each child therefore asks the kernel to send it
SIGTERM when its parent dies (Linux `prctl(PR_SET_PDEATHSIG)`), so it shuts down as on any stop:
the hub ends its streams, the scheduler its wait. Where there is no such call, a daemon thread
checks every `POLL_SECONDS` whether the parent is still the one that started it.

The parent may already be gone by the time the child asks (the kernel then never signals), so the
child checks its parent's pid once after asking. The signal is tied to the thread that forked the
child: the supervisor starts every child from its main thread, which lives as long as it does.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["POLL_SECONDS", "follow"]

POLL_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1


def follow(parent_pid: int) -> None:
    """Have this process receive SIGTERM when `parent_pid` (its parent) dies."""
    if not _ask_the_kernel():
        threading.Thread(target=_watch, args=(parent_pid,), name="lifeline", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _ask_the_kernel() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
