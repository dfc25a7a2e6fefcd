"""The stream cap and the descriptor limit (issue 13, point 6)."""

from __future__ import annotations

import resource
import subprocess
import sys

from agentchat.hub.limits import RESERVE_FDS, stream_cap
from agentchat.settings import Settings
from tests.kit.paths import ROOT


def test_the_soft_fd_limit_is_raised_to_the_hard_one_at_start() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    script = (
        "import resource\n"
        "from agentchat.hub.limits import raise_fd_limit\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(raise_fd_limit())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    expected = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    assert int(result.stdout) == expected


def test_the_stream_cap_keeps_a_reserve_below_the_limit_unless_set() -> None:
    settings = Settings(_env_file=None, db_pool_size=5)
    assert stream_cap(settings, limit=1024) == 1024 - RESERVE_FDS - 20
    assert stream_cap(settings, limit=10) == 1
    assert stream_cap(Settings(_env_file=None, max_streams=7), limit=1024) == 7
