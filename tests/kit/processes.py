"""The processes a test or a bench started: stopping a server the way the suite ends every one it does not keep,
finding every process below one (a browser's renderers), and their CPU time."""

from __future__ import annotations

import os
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


def is_stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal (SIGSTOP) now: its state in `/proc/PID/stat` is `T`."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def cpu_seconds(pid: int) -> float:
    """A live process's CPU time so far, user + system (`/proc/PID/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chromium_cpu_seconds() -> float:
    """CPU time of the live Chromium processes below this one (the browser, its renderers and helpers; not the
    hub, Streamlit or Playwright's driver, which a bench starts below it too)."""
    total = 0.0
    for pid in descendants(os.getpid()):
        try:
            if "chrom" in Path(f"/proc/{pid}/comm").read_text():
                total += cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            continue
    return total
