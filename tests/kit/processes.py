"""The processes a test or a bench started: stopping a server the way the suite ends every one it does not keep,
and finding every process below one (a browser's renderers, for their CPU)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Stop a server started with `subprocess.Popen`: SIGTERM and up to 15 s to drain, then SIGKILL."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (Playwright's driver, Chromium and its renderers), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
