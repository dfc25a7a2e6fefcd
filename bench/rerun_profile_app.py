"""`app.py` with a CPU profile of the live area's woken reruns (run by `bench/rerun_profile.py`).

Each rerun of the live fragment that a message woke is profiled (cProfile) on the script's thread,
and Streamlit's event loop (which turns the run's elements into bytes on the websocket) is profiled
over the same span; after `AGENTCHAT_PROFILE_RERUNS` of them both profiles are written to
`AGENTCHAT_PROFILE_DIR`, with each rerun's thread CPU time.
"""

from __future__ import annotations

import cProfile
import json
import os
import time
from pathlib import Path
from typing import Any

from streamlit.runtime import Runtime

from agentchat.dashboard import live_page, redraw, wakeup
from agentchat.dashboard.navigation import run

OUT = Path(os.environ["AGENTCHAT_PROFILE_DIR"])
WANTED = int(os.environ.get("AGENTCHAT_PROFILE_RERUNS", "20"))
PROFILING = os.environ.get("AGENTCHAT_PROFILE_PLAIN") != "1"  # "1": CPU times only, without the profiler's cost
ROOT = Path(__file__).resolve().parent.parent
# Kept on the module, not this script's globals: a full rerun executes this script again.
_state: dict[str, Any] = redraw.__dict__.setdefault(
    "_profile_state",
    {
        "script": cProfile.Profile(time.thread_time),  # CPU time: valid on a busy machine
        "loop": cProfile.Profile(time.thread_time),
        "reruns": [],
        "runs": [],
        "started": False,
        "parts": {},
        "every_run": [],
    },
)
_original = redraw.__dict__.setdefault("_unprofiled_area", redraw._area)


def _threads_cpu_ms() -> dict[str, float]:
    """CPU time of this process's live threads, by name (Linux: /proc/self/task)."""
    tick = os.sysconf("SC_CLK_TCK")
    spent: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[name] = spent.get(name, 0.0) + (int(fields[11]) + int(fields[12])) * 1000 / tick
    return spent


def _timed(module: Any, name: str) -> None:
    """Wrap `module.name` to add its thread CPU time to the span's figures (kept across full reruns)."""
    function = getattr(module, name)
    if getattr(function, "_timed", False):
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        if not _state["started"] or len(_state["reruns"]) >= WANTED:
            return function(*args, **kwargs)
        before = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            parts = _state["parts"]
            parts[name] = parts.get(name, 0.0) + (time.thread_time() - before) * 1000

    timed._timed = True  # type: ignore[attr-defined]
    setattr(module, name, timed)


def _loop() -> Any:
    return Runtime.instance()._get_async_objs().eventloop


def _profiled_area(*args: Any) -> None:
    woke = wakeup.pending()
    _state["every_run"].append((time.monotonic(), woke.kind or "other"))
    if _state["started"] and len(_state["reruns"]) < WANTED:
        _state["runs"].append(woke.kind or "other")  # every run of the live area in the profiled span
    if woke.kind != "message" or len(_state["reruns"]) >= WANTED:
        _original(*args)
        return
    if not _state["started"]:
        _state["started"] = True
        _state["process_before"] = time.process_time()
        _state["threads_before"] = _threads_cpu_ms()
        if PROFILING:
            _loop().call_soon_threadsafe(_state["loop"].enable)
    profile: cProfile.Profile = _state["script"]
    before = time.thread_time()
    if PROFILING:
        profile.enable()
    try:
        _original(*args)
    finally:
        if PROFILING:
            profile.disable()
        _state["reruns"].append((time.thread_time() - before) * 1000)
    if len(_state["reruns"]) == WANTED:
        process_ms = (time.process_time() - _state["process_before"]) * 1000
        after = _threads_cpu_ms()
        threads = {
            name: spent - _state["threads_before"].get(name, 0.0)
            for name, spent in after.items()
            if spent - _state["threads_before"].get(name, 0.0) > 0
        }

        def finish() -> None:
            _state["loop"].disable()
            _state["loop"].dump_stats(OUT / "loop.prof")
            profile.dump_stats(OUT / "script.prof")
            (OUT / "reruns.json").write_text(
                json.dumps(
                    {
                        "script_ms": _state["reruns"],
                        "process_ms": process_ms,
                        "runs": _state["runs"],
                        "parts_ms": _state["parts"],
                        "threads_ms": threads,
                        "every_run": _state["every_run"],
                    }
                )
            )

        _loop().call_soon_threadsafe(finish)


redraw._area = _profiled_area  # type: ignore[assignment]
# Parts of the live area left out ("_status,_standings"; "all": the figures and the cards alone): what each costs.
_LEFT_OUT = os.environ.get("AGENTCHAT_PROFILE_LEAVE_OUT", "")
for _name in ("_status", "_model_notice", "_standings"):
    if _LEFT_OUT == "all" or _name in _LEFT_OUT.split(","):
        setattr(live_page, _name, lambda *args: None)
for _name in ("_status", "_model_notice", "figures", "_chat", "_standings"):
    _timed(live_page, _name)
for _name in ("mount_wakeup", "_catch_up"):
    _timed(redraw, _name)

run(
    diagnostics_script=str(ROOT / "pages/1_Diagnostics.py"),
    leaderboard_script=str(ROOT / "pages/2_Leaderboard.py"),
    history_script=str(ROOT / "pages/3_History.py"),
    agent_script=str(ROOT / "pages/4_Agent.py"),
)
