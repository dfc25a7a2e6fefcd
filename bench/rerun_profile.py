"""Where the CPU of one woken rerun of the live area goes: a cProfile of the dashboard's own process.

A hub holding a full retention window (120 cards), the dashboard (`bench/rerun_profile_app.py`:
`app.py` with a profiler around the live fragment) and one Chromium page; `--reruns` one-agent
messages are posted one at a time, each waiting for its card. Printed: the Streamlit process's CPU
per woken rerun (all threads) and while idle, the script thread's (by part of the page), and the
top functions of the script thread's profile and of Streamlit's event loop's (which writes the
run's elements to the websocket).

A CPU profile stays valid on a busy machine; a latency measured there does not.

    python bench/rerun_profile.py [--reruns 20] [--top 25] [--cards element|elements] [--plain] [--idle 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.agents import BUILTIN_ROSTER
from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS, card, wait_until_woken_by_its_stream
from tests.kit.hubs import HubProcess
from tests.kit.paths import ROOT
from tests.kit.ports import free_port
from tests.kit.processes import stop_process
from tests.kit.waits import wait_answering, wait_until


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def top(path: Path, sort: str, count: int) -> str:
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(sort).print_stats(count)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=20, help="woken reruns profiled")
    parser.add_argument("--top", type=int, default=25, help="functions printed per profile")
    parser.add_argument("--cards", default="element", help="AGENTCHAT_DASHBOARD_CARDS")
    parser.add_argument("--plain", action="store_true", help="CPU times only, without the profiler's own cost")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measured first (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        hub = HubProcess(
            f"sqlite:///{workdir}/hub.db", workdir, access_log="false", generate_per_minute=100_000, dashboard_port=port
        ).start()
        env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTCHAT_")}
        env |= {
            "AGENTCHAT_HUB_URL": hub.url,
            "AGENTCHAT_DASHBOARD_CARDS": args.cards,
            "AGENTCHAT_PROFILE_DIR": str(workdir),
            "AGENTCHAT_PROFILE_RERUNS": str(args.reruns),
            "AGENTCHAT_PROFILE_PLAIN": "1" if args.plain else "0",
            "PYTHONUNBUFFERED": "1",
        }
        log = (workdir / "dashboard.log").open("wb")
        dashboard = subprocess.Popen(
            [
                *(sys.executable, "-m", "streamlit", "run", "bench/rerun_profile_app.py"),
                *("--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"),
                *("--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(21):  # a full window: 20 kept per agent
                hub.generate()
            url = f"http://127.0.0.1:{port}"
            wait_answering(dashboard, f"{url}/_stcore/health", (workdir / "dashboard.log").read_text, timeout=60)
            empty_before, empty_started = cpu_seconds(dashboard.pid), time.monotonic()
            time.sleep(min(args.idle, 8.0))
            empty = (cpu_seconds(dashboard.pid) - empty_before) / max(1e-9, time.monotonic() - empty_started)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(url, timeout=120_000)
                page.locator("article.card, [class*='st-key-message-']").nth(119).wait_for(
                    state="attached", timeout=120_000
                )
                wait_until_woken_by_its_stream(page, 120_000)
                time.sleep(2)
                idle_before, idle_started = cpu_seconds(dashboard.pid), time.monotonic()
                time.sleep(args.idle)
                idle_ended = time.monotonic()
                idle = (cpu_seconds(dashboard.pid) - idle_before) / max(1e-9, idle_ended - idle_started)
                for index in range(args.reruns):
                    agent = BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)].id
                    message = hub.generate([agent]).json()["messages"][0]
                    card(page, message).wait_for(state="attached", timeout=60_000)
                    time.sleep(0.3)  # one message, one rerun
                result = workdir / "reruns.json"
                wait_until(result.exists, timeout=60)
                browser.close()
            figures = json.loads(result.read_text())
            script = figures["script_ms"]
            print(f"cards={args.cards}: {len(script)} woken reruns, a full window (120 cards)")
            print(f"  script thread CPU per rerun: mean {sum(script) / len(script):.1f} ms, min {min(script):.1f} ms")
            process_ms = figures["process_ms"] / len(script)
            print(f"  Streamlit process CPU per woken rerun (all threads): {process_ms:.1f} ms")
            runs = figures["runs"]
            print(f"  runs of the live area meanwhile: {len(runs)} ({', '.join(sorted(set(runs)))})")
            reruns = len(script)
            if args.idle:
                idle_runs = [kind for at, kind in figures["every_run"] if idle_started <= at <= idle_ended]
                print(
                    f"  idle Streamlit CPU, one session open: {idle * 1000:.1f} ms per second"
                    f" ({empty * 1000:.1f} with none); runs of the live area in those {args.idle:g} s: {len(idle_runs)}"
                )
            print("  script thread CPU per rerun, by part (ms):")
            for name, spent in sorted(figures["parts_ms"].items(), key=lambda item: -item[1]):
                print(f"    {name:<20} {spent / reruns:6.2f}")
            print("  the process's threads' CPU per woken rerun (ms; script runs are threads of their own, gone):")
            for name, spent in sorted(figures["threads_ms"].items(), key=lambda item: -item[1]):
                print(f"    {name:<20} {spent / reruns:6.2f}")
            if args.plain:
                return
            print("\n== script thread, by cumulative time ==")
            print(top(workdir / "script.prof", "cumulative", args.top))
            print("== script thread, by own time ==")
            print(top(workdir / "script.prof", "tottime", args.top))
            print("== event loop, by cumulative time ==")
            print(top(workdir / "loop.prof", "cumulative", args.top))
        finally:
            stop_process(dashboard)
            hub.stop()


if __name__ == "__main__":
    main()
