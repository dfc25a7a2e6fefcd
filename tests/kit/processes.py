"""Stopping a server a test started as a subprocess: the way the suite ends every one it does not keep."""

from __future__ import annotations

import subprocess
from typing import Any


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Stop a server started with `subprocess.Popen`: SIGTERM and up to 15 s to drain, then SIGKILL."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
