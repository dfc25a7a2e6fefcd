"""What one page load costs the operator's browser: the dashboard beside a minimal Streamlit page and the viewer page.

Each page is loaded in a browser context of its own (as each operator in `bench/dashboard.py`), one
at a time, until it is drawn: the dashboard with its full window (120 cards, its stream open), the
minimal page (`bench/page_cost_app.py`: the kinds of widgets the dashboard's sidebar has, nothing of
agentchat) with its last line, the hub's viewer page (`GET /`) with its cards. Chromium's CPU (every
process below this one, user + sys from /proc) from after the browser started to after the last page
was drawn, per page; `--loads` pages per run, `--repeat` runs with the three kinds alternating;
medians. The pages stay open until the run ends, so no process's CPU leaves the count.

The minimal page is the floor of any page Streamlit serves in a fresh context: what the dashboard
costs above it is ours.

Each kind is loaded twice a run: in Chromium as the suite and the benches launch it (`CHROMIUM_ARGS`,
without the address bar's popups that headless Chromium builds for every new context) and in
Chromium with them (its default, as before): the last lines give the ratio.

    python bench/page_cost.py [--loads 6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS, Dashboard, chromium_args, wait_until_woken_by_its_stream
from tests.kit.hubs import HubProcess
from tests.kit.ports import free_port
from tests.kit.processes import chromium_cpu_seconds

LOAD_TIMEOUT_MS = 60_000
VIEWPORT: ViewportSize = {"width": 1600, "height": 1000}
WITH_POPUPS = " (with the popups)"


def dashboard_drawn(page: Page) -> None:
    wait_until_woken_by_its_stream(page, LOAD_TIMEOUT_MS)
    page.locator("article.card").nth(119).wait_for(state="attached", timeout=LOAD_TIMEOUT_MS)


def minimal_drawn(page: Page) -> None:
    page.get_by_text("line 5").wait_for(timeout=LOAD_TIMEOUT_MS)


def viewer_drawn(page: Page) -> None:
    page.locator("article.card").nth(99).wait_for(state="attached", timeout=LOAD_TIMEOUT_MS)


def cpu_per_load(browser: Browser, url: str, drawn: Callable[[Page], None], loads: int) -> float:
    """Chromium's CPU seconds per page, `loads` pages each in a context of its own, loaded one at a time."""
    before = chromium_cpu_seconds()
    contexts = []
    for _ in range(loads):
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.goto(url, timeout=LOAD_TIMEOUT_MS)
        drawn(page)
    spent = chromium_cpu_seconds() - before
    for context in contexts:
        context.close()
    return spent / loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=6, help="pages per run, each in its own context")
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind of page, the kinds alternating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        port = free_port()
        database = f"sqlite:///{workdir}/page.db"
        hub = HubProcess(database, workdir, access_log="false", generate_per_minute=100_000, dashboard_port=port)
        hub.start()
        dashboard = Dashboard(hub.url, workdir, port=port)
        minimal = Dashboard(hub.url, workdir, script="bench/page_cost_app.py")
        try:
            for _ in range(21):  # a full window: 20 kept per agent
                hub.generate()
            dashboard.wait_healthy()
            minimal.wait_healthy()
            kinds = {
                "minimal Streamlit page": (minimal.url, minimal_drawn),
                "dashboard, full window": (dashboard.url, dashboard_drawn),
                "viewer page, full window": (f"{hub.url}/", viewer_drawn),
            }
            launches = {"": CHROMIUM_ARGS, WITH_POPUPS: chromium_args(address_bar_popups=True)}
            costs: dict[str, list[float]] = {kind + launch: [] for launch in launches for kind in kinds}
            with sync_playwright() as playwright:
                for _ in range(args.repeat):
                    for kind, (url, drawn) in kinds.items():
                        for launch, arguments in launches.items():
                            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=arguments)
                            try:
                                costs[kind + launch].append(cpu_per_load(browser, url, drawn, args.loads))
                            finally:
                                browser.close()
        finally:
            minimal.stop()
            dashboard.stop()
            hub.stop()
    print(f"Chromium CPU per page load, each in a context of its own ({args.loads} loads a run, {args.repeat} runs)")
    print(f"{'page':<44}  {'median s':>8}  {'runs':<24}")
    floor = statistics.median(costs["minimal Streamlit page"])
    for kind, values in costs.items():
        runs = " ".join(f"{value:.2f}" for value in values)
        print(f"{kind:<44}  {statistics.median(values):>8.2f}  {runs:<24}")
    for kind in ("dashboard, full window", "viewer page, full window"):
        print(f"{kind} / minimal Streamlit page: {statistics.median(costs[kind]) / floor:.2f}x")
    for kind in ("minimal Streamlit page", "dashboard, full window", "viewer page, full window"):
        ratio = statistics.median(costs[kind]) / statistics.median(costs[kind + WITH_POPUPS])
        print(f"{kind}, without / with the address bar's popups: {ratio:.2f}x")


if __name__ == "__main__":
    main()
