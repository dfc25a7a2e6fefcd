"""Where the CPU of one woken rerun of the live area goes: a cProfile of the dashboard's own process.

A hub holding a full retention window (120 cards), the dashboard (`bench/rerun_profile_app.py`:
`app.py` with a profiler around the live fragment) and one Chromium page; `--reruns` one-agent
messages are posted one at a time, each waiting for its card. Printed: the Streamlit process's CPU
per woken rerun (all threads) and while idle, the script thread's (by part of the page), the
page's main thread in Chromium per rerun (script, layout, style), and the top functions of the
script thread's profile and of Streamlit's event loop's (which writes the run's elements to the
websocket).

A CPU profile stays valid on a busy machine; a latency measured there does not.

    python bench/rerun_profile.py [--reruns 20] [--top 25] [--cards element|elements] [--plain] [--idle 20]
        [--leave-out PARTS] [--page-profile]
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import CDPSession, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentchat.agents import BUILTIN_ROSTER
from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS, Dashboard, wait_until_woken_by_its_stream
from tests.kit.hubs import HubProcess
from tests.kit.ports import free_port
from tests.kit.processes import chromium_cpu_seconds, cpu_seconds
from tests.kit.waits import wait_until

PAGE_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def page_metrics(devtools: CDPSession) -> dict[str, float]:
    """The page's main-thread time so far, by kind (Chrome DevTools' Performance domain), in seconds."""
    metrics = devtools.send("Performance.getMetrics")["metrics"]
    return {metric["name"]: float(metric["value"]) for metric in metrics if metric["name"] in PAGE_METRICS}


def top_js(profile: dict[str, Any], count: int) -> str:
    """A V8 CPU profile's functions by own time (samples x interval), with their script's name."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    samples = profile.get("samples", [])
    deltas = profile.get("timeDeltas", [])
    own: dict[str, float] = {}
    for node_id, delta in zip(samples, deltas, strict=False):
        frame = nodes[node_id]["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1][:40] or "-"
        name = f"{frame['functionName'] or '(anonymous)'} {script}:{frame['lineNumber'] + 1}"
        own[name] = own.get(name, 0.0) + delta / 1000
    total = sum(own.values()) or 1.0
    ranked = sorted(own.items(), key=lambda item: -item[1])[:count]
    return "\n".join(f"  {spent:9.1f} ms {spent / total:6.1%}  {name}" for name, spent in ranked)


CARD_SHOWN = """(id) => new Promise((resolve) => {
  const selector = `article.card[data-id='${id}'], .st-key-message-${id}`;
  const roots = () => [document, ...[...document.querySelectorAll("*")].map((node) => node.shadowRoot).filter(Boolean)];
  const found = () => roots().some((root) => root.querySelector(selector));
  if (found()) return resolve(true);
  const observer = new MutationObserver(() => {
    if (found()) { observer.disconnect(); resolve(true); }
  });
  for (const root of roots()) observer.observe(root, { childList: true, subtree: true });
})"""


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
    parser.add_argument(
        "--leave-out",
        default="",
        help='parts of the live area not drawn ("_status,_standings"; "all": the figures and the cards alone)',
    )
    parser.add_argument("--page-profile", action="store_true", help="also a JavaScript profile of the page")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measured first (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        hub = HubProcess(
            f"sqlite:///{workdir}/hub.db", workdir, access_log="false", generate_per_minute=100_000, dashboard_port=port
        ).start()
        env = {
            "AGENTCHAT_DASHBOARD_CARDS": args.cards,
            "AGENTCHAT_PROFILE_DIR": str(workdir),
            "AGENTCHAT_PROFILE_RERUNS": str(args.reruns),
            "AGENTCHAT_PROFILE_PLAIN": "1" if args.plain else "0",
            "AGENTCHAT_PROFILE_LEAVE_OUT": args.leave_out,
        }
        dashboard = Dashboard(hub.url, workdir, port=port, env=env, script="bench/rerun_profile_app.py")
        try:
            for _ in range(21):  # a full window: 20 kept per agent
                hub.generate()
            url = dashboard.url
            dashboard.wait_healthy()
            empty_before, empty_started = cpu_seconds(dashboard.process.pid), time.monotonic()
            time.sleep(min(args.idle, 8.0))
            empty = (cpu_seconds(dashboard.process.pid) - empty_before) / max(1e-9, time.monotonic() - empty_started)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(url, timeout=120_000)
                page.locator("article.card, [class*='st-key-message-']").nth(119).wait_for(
                    state="attached", timeout=120_000
                )
                wait_until_woken_by_its_stream(page, 120_000)
                time.sleep(2)
                idle_before, idle_started = cpu_seconds(dashboard.process.pid), time.monotonic()
                chromium_idle_before = chromium_cpu_seconds()
                time.sleep(args.idle)
                idle_ended = time.monotonic()
                idle = (cpu_seconds(dashboard.process.pid) - idle_before) / max(1e-9, idle_ended - idle_started)
                chromium_idle = (
                    (chromium_cpu_seconds() - chromium_idle_before) / (idle_ended - idle_started) if args.idle else 0.0
                )
                devtools = page.context.new_cdp_session(page)
                devtools.send("Performance.enable")
                if args.page_profile:
                    devtools.send("Profiler.enable")
                    devtools.send("Profiler.setSamplingInterval", {"interval": 200})
                    devtools.send("Profiler.start")
                page_before = page_metrics(devtools)
                chromium_before, reruns_started = chromium_cpu_seconds(), time.monotonic()
                for index in range(args.reruns):
                    agent = BUILTIN_ROSTER[index % len(BUILTIN_ROSTER)].id
                    message = hub.generate([agent]).json()["messages"][0]
                    page.evaluate(CARD_SHOWN, message["id"])  # no polling: the wait costs the page nothing
                    time.sleep(0.3)  # one message, one rerun
                chromium_spent = chromium_cpu_seconds() - chromium_before
                chromium_busy = chromium_spent - chromium_idle * (time.monotonic() - reruns_started)
                page_spent = {name: page_metrics(devtools)[name] - page_before[name] for name in PAGE_METRICS}
                page_top = top_js(devtools.send("Profiler.stop")["profile"], args.top) if args.page_profile else ""
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
            print(
                f"  Chromium's processes' CPU per woken rerun: {chromium_spent * 1000 / reruns:.1f} ms"
                f" ({chromium_busy * 1000 / reruns:.1f} above its idle rate, {chromium_idle * 1000:.1f} ms/s)"
            )
            print(
                "  the page's main thread per woken rerun (Chromium, wall ms: not valid on a busy machine): "
                + ", ".join(f"{name} {spent * 1000 / reruns:.1f}" for name, spent in page_spent.items())
            )
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
            if page_top:
                print("\n== the page's main thread (JavaScript samples, by own time) ==")
                print(page_top)
            if args.plain:
                return
            print("\n== script thread, by cumulative time ==")
            print(top(workdir / "script.prof", "cumulative", args.top))
            print("== script thread, by own time ==")
            print(top(workdir / "script.prof", "tottime", args.top))
            print("== event loop, by cumulative time ==")
            print(top(workdir / "loop.prof", "cumulative", args.top))
        finally:
            dashboard.stop()
            hub.stop()


if __name__ == "__main__":
    main()
